// gil-lab dashboard: table sorting, raw-file downloads and (on `gil-lab
// serve`) live updates. Written for gil-lab; no library.
"use strict";
(function () {
  // Sorting: click a heading of a .sortable table. Numeric columns sort by
  // their data-sort value; empty values go last either way.
  document.addEventListener("click", function (event) {
    var th = event.target.closest && event.target.closest("table.sortable th");
    if (!th) return;
    var table = th.closest("table");
    var column = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.dataset.type === "num";
    var descending = th.classList.contains("sorted-asc");
    table.querySelectorAll("th").forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
    th.classList.add(descending ? "sorted-desc" : "sorted-asc");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var key = function (row) {
      var cell = row.cells[column];
      var raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
      if (!numeric) return raw.toLowerCase();
      return raw === "" ? null : parseFloat(raw);
    };
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === null || y === null) return (x === null) - (y === null);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });

  // A timeline's rows: thread states or CPU use.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".lane-view button");
    if (!button) return;
    button.closest("figure").dataset.view = button.dataset.view;
  });

  // Downloads of the embedded raw files (gzip + base64): unpacked with the
  // browser's DecompressionStream, or offered as .gz where it is missing.
  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }
  document.querySelectorAll("button.download").forEach(function (button) {
    button.addEventListener("click", function () {
      var packed = document.getElementById(button.dataset.packed).textContent.trim();
      var binary = atob(packed);
      var bytes = new Uint8Array(binary.length);
      for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      var gz = new Blob([bytes], { type: "application/gzip" });
      if (typeof DecompressionStream === "undefined") {
        save(gz, button.dataset.name + ".gz");
        return;
      }
      new Response(gz.stream().pipeThrough(new DecompressionStream("gzip")))
        .blob()
        .then(function (plain) {
          save(new Blob([plain], { type: "application/json" }), button.dataset.name);
        });
    });
  });

  // Live updates (gil-lab serve): the server sends an event when a trial
  // ends; the page fetches the re-rendered dashboard and swaps it in.
  var base = document.body.dataset.base;
  if (document.body.dataset.live !== "true" || !base || typeof EventSource === "undefined") return;
  var main = document.getElementById("dashboard");
  // One fetch at a time; a change announced while one is in flight is
  // fetched again when it returns (it may have been rendered before that
  // change: dropping the request would leave the page one update behind,
  // for good when the last event was `done`).
  var pending = false;
  var again = false;
  function refresh() {
    if (pending) {
      again = true;
      return;
    }
    pending = true;
    again = false;
    function settle() {
      pending = false;
      if (again) refresh();
    }
    fetch(base + "fragment", { cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) {
          // Keep what the reader opened (evidence, all timelines) open.
          var open = [].map.call(main.querySelectorAll("details"), function (d) { return d.open; });
          main.innerHTML = html;
          main.querySelectorAll("details").forEach(function (d, i) { if (open[i]) d.open = true; });
        }
        settle();
      })
      .catch(settle);
  }
  var events = new EventSource(base + "events");
  // Trials may have ended between the page's render and the connection.
  events.addEventListener("open", refresh);
  events.addEventListener("trial", refresh);
  events.addEventListener("done", function () {
    refresh();
    events.close();
  });
})();
