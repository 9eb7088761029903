"""The knowledge base of the `shared` scenario: a seeded road network.

A W x H grid of junctions (node = y * W + x) joined to their 4 neighbours by
two-way roads of integer length 1..16. It is stored in compressed sparse rows
of `array('i')`: compact, cheap to pickle, and invisible to the cyclic garbage
collector (a graph of Python lists would make every collection of the
free-threaded build's stop-the-world GC walk hundreds of thousands of objects).
It is read-only once built; agents ask it for shortest route lengths.
"""

from __future__ import annotations

from array import array

from .prng import SplitMix64

#: Grid width and height: 65,536 junctions, 261,120 directed road segments.
WIDTH = 256
HEIGHT = 256
#: Mixed into the trial seed to seed the road lengths.
KNOWLEDGE_SALT = 0x6B6E6F776C656467  # "knowledg"
#: Longest road segment.
MAX_ROAD = 16


class RoadNetwork:
    """The road network in compressed sparse rows: the roads leaving node `n`
    are `targets[offsets[n]:offsets[n + 1]]`, with lengths in `lengths`."""

    __slots__ = ("width", "height", "offsets", "targets", "lengths")

    def __init__(self, width: int, height: int, offsets: array, targets: array,
                 lengths: array) -> None:
        self.width = width
        self.height = height
        self.offsets = offsets
        self.targets = targets
        self.lengths = lengths

    def __reduce__(self):  # pickling with __slots__ needs no __getstate__ this way
        return (RoadNetwork, (self.width, self.height, self.offsets, self.targets,
                              self.lengths))

    @property
    def nodes(self) -> int:
        """Number of junctions."""
        return self.width * self.height

    @property
    def edges(self) -> int:
        """Number of directed road segments."""
        return len(self.targets)

    def shortest_path(self, source: int, target: int) -> int:
        """Length of the shortest route from `source` to `target` (Dijkstra
        with a bucket queue: lengths are small integers)."""
        # Per-query memoryviews of the shared arrays: indexing an array loads
        # the array object itself, and on a free-threaded build every load of
        # an object another thread owns is an atomic reference-count write
        # to one shared cache line. A view made here belongs to this thread,
        # so reading the graph writes nothing shared.
        offsets = memoryview(self.offsets)
        targets = memoryview(self.targets)
        lengths = memoryview(self.lengths)
        dist = {source: 0}
        buckets: list[list[int]] = [[source]]
        d = 0
        while True:
            bucket = buckets[d]
            if not bucket:
                d += 1
                continue
            node = bucket.pop()
            if dist[node] < d:
                continue  # already settled at a shorter distance
            if node == target:
                return d
            for edge in range(offsets[node], offsets[node + 1]):
                nd = d + lengths[edge]
                nxt = targets[edge]
                old = dist.get(nxt)
                if old is None or nd < old:
                    dist[nxt] = nd
                    while len(buckets) <= nd:
                        buckets.append([])
                    buckets[nd].append(nxt)


def road_lengths(seed: int, width: int, height: int) -> tuple[list[int], list[int]]:
    """(right, down): the length of the road from node n to its right and its
    lower neighbour (0 where there is none). Drawn for node 0, 1, 2, ... in
    order: right first (if x < width - 1), then down (if y < height - 1), each
    1 + below(MAX_ROAD), from SplitMix64(seed XOR KNOWLEDGE_SALT)."""
    rng = SplitMix64(seed ^ KNOWLEDGE_SALT)
    right = [0] * (width * height)
    down = [0] * (width * height)
    for y in range(height):
        for x in range(width):
            node = y * width + x
            if x < width - 1:
                right[node] = 1 + rng.below(MAX_ROAD)
            if y < height - 1:
                down[node] = 1 + rng.below(MAX_ROAD)
    return right, down


def build(seed: int, width: int = WIDTH, height: int = HEIGHT) -> RoadNetwork:
    """Builds the road network of a trial seed; each node's roads are listed
    up, left, right, down."""
    right, down = road_lengths(seed, width, height)
    offsets = array("i", [0])
    targets = array("i")
    lengths = array("i")
    for y in range(height):
        for x in range(width):
            node = y * width + x
            if y > 0:
                targets.append(node - width)
                lengths.append(down[node - width])
            if x > 0:
                targets.append(node - 1)
                lengths.append(right[node - 1])
            if x < width - 1:
                targets.append(node + 1)
                lengths.append(right[node])
            if y < height - 1:
                targets.append(node + width)
                lengths.append(down[node])
            offsets.append(len(targets))
    return RoadNetwork(width, height, offsets, targets, lengths)
