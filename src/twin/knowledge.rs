//! The knowledge base of the `shared` scenario: a seeded road network
//! (docs/agents.md, section 7; `workload/gil_lab/knowledge.py`).
//!
//! A W x H grid of junctions (node = y * W + x) joined to their 4 neighbours
//! by two-way roads of length 1..16, stored in compressed sparse rows. It is
//! read-only once built, so threads share one instance without locks.

use crate::prng::SplitMix64;

/// Grid width: 256 x 256 = 65,536 junctions, 261,120 directed road segments.
pub const WIDTH: usize = 256;
/// Grid height.
pub const HEIGHT: usize = 256;
/// Mixed into the trial seed to seed the road lengths ("knowledg").
const KNOWLEDGE_SALT: u64 = 0x6B6E_6F77_6C65_6467;
/// Longest road segment.
const MAX_ROAD: u64 = 16;

/// The road network in compressed sparse rows: the roads leaving node `n` are
/// `targets[offsets[n]..offsets[n + 1]]`, with lengths in `lengths`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoadNetwork {
    /// Junctions per row.
    pub width: usize,
    /// Rows of junctions.
    pub height: usize,
    offsets: Vec<u32>,
    targets: Vec<u32>,
    lengths: Vec<u8>,
}

impl RoadNetwork {
    /// Builds the network of a trial seed. Road lengths are drawn for node 0,
    /// 1, 2, ... in order: right first (if x < W - 1), then down (if
    /// y < H - 1), each 1 + below(16), from SplitMix64(seed ^ KNOWLEDGE_SALT);
    /// each node's roads are listed up, left, right, down.
    pub fn build(seed: u64, width: usize, height: usize) -> Self {
        let nodes = width * height;
        let mut rng = SplitMix64::new(seed ^ KNOWLEDGE_SALT);
        let mut right = vec![0u8; nodes];
        let mut down = vec![0u8; nodes];
        for y in 0..height {
            for x in 0..width {
                let node = y * width + x;
                if x + 1 < width {
                    right[node] = 1 + rng.below(MAX_ROAD) as u8;
                }
                if y + 1 < height {
                    down[node] = 1 + rng.below(MAX_ROAD) as u8;
                }
            }
        }
        let edges = 2 * (2 * nodes - width - height);
        let mut offsets = Vec::with_capacity(nodes + 1);
        let mut targets = Vec::with_capacity(edges);
        let mut lengths = Vec::with_capacity(edges);
        offsets.push(0);
        for y in 0..height {
            for x in 0..width {
                let node = y * width + x;
                let mut road = |to: usize, length: u8| {
                    targets.push(to as u32);
                    lengths.push(length);
                };
                if y > 0 {
                    road(node - width, down[node - width]);
                }
                if x > 0 {
                    road(node - 1, right[node - 1]);
                }
                if x + 1 < width {
                    road(node + 1, right[node]);
                }
                if y + 1 < height {
                    road(node + width, down[node]);
                }
                offsets.push(targets.len() as u32);
            }
        }
        Self {
            width,
            height,
            offsets,
            targets,
            lengths,
        }
    }

    /// The network of a trial seed at the standard size (256 x 256).
    pub fn for_seed(seed: u64) -> Self {
        Self::build(seed, WIDTH, HEIGHT)
    }

    /// Number of junctions.
    pub fn nodes(&self) -> usize {
        self.width * self.height
    }
}

/// Shortest-route scratch space, one per worker: the distance table is
/// allocated once, not per query.
#[derive(Debug, Default)]
pub struct Router {
    dist: Vec<u32>,
    /// Dial's bucket queue: a ring of MAX_ROAD + 1 buckets, enough because
    /// every pending distance lies within MAX_ROAD of the current one.
    buckets: Vec<Vec<u32>>,
}

impl Router {
    /// Length of the shortest route from `source` to `target` (Dijkstra with
    /// a bucket queue: lengths are small integers), or `None` when there is
    /// no route (never on a grid) or a node is out of range.
    pub fn shortest_path(
        &mut self,
        network: &RoadNetwork,
        source: usize,
        target: usize,
    ) -> Option<u64> {
        let nodes = network.nodes();
        if source >= nodes || target >= nodes {
            return None;
        }
        self.dist.clear();
        self.dist.resize(nodes, u32::MAX);
        let ring = MAX_ROAD as usize + 1;
        self.buckets.resize_with(ring, Vec::new);
        for bucket in &mut self.buckets {
            bucket.clear();
        }
        self.dist[source] = 0;
        self.buckets[0].push(source as u32);
        let mut pending = 1usize;
        let mut d = 0u32;
        while pending > 0 {
            let Some(node) = self.buckets[d as usize % ring].pop() else {
                d += 1;
                continue;
            };
            pending -= 1;
            let node = node as usize;
            if self.dist[node] < d {
                continue; // already settled at a shorter distance
            }
            if node == target {
                return Some(u64::from(d));
            }
            let edges = network.offsets[node] as usize..network.offsets[node + 1] as usize;
            for (&next, &length) in network.targets[edges.clone()]
                .iter()
                .zip(&network.lengths[edges])
            {
                let nd = d + u32::from(length);
                let old = &mut self.dist[next as usize];
                if nd < *old {
                    *old = nd;
                    self.buckets[nd as usize % ring].push(next);
                    pending += 1;
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_of_the_standard_network() {
        let network = RoadNetwork::for_seed(1);
        assert_eq!(network.nodes(), 65_536);
        assert_eq!(network.targets.len(), 261_120);
    }

    /// Same as the Python knowledge base of trial seed 1.
    #[test]
    fn golden_routes() {
        let network = RoadNetwork::for_seed(1);
        let mut router = Router::default();
        assert_eq!(router.shortest_path(&network, 0, 65_535), Some(2192));
        assert_eq!(router.shortest_path(&network, 100, 100), Some(0));
        assert_eq!(router.shortest_path(&network, 0, 1), Some(15));
        assert_eq!(router.shortest_path(&network, 0, 65_536), None);
    }

    /// Dial's ring agrees with a plain O(n^2) Dijkstra on a small grid.
    #[test]
    fn agrees_with_plain_dijkstra() {
        let network = RoadNetwork::build(7, 9, 7);
        let mut router = Router::default();
        let n = network.nodes();
        for source in [0, 5, 31, n - 1] {
            let mut dist = vec![u64::MAX; n];
            let mut done = vec![false; n];
            dist[source] = 0;
            for _ in 0..n {
                let u = (0..n)
                    .filter(|&v| !done[v])
                    .min_by_key(|&v| dist[v])
                    .unwrap();
                done[u] = true;
                for e in network.offsets[u] as usize..network.offsets[u + 1] as usize {
                    let v = network.targets[e] as usize;
                    dist[v] = dist[v].min(dist[u] + u64::from(network.lengths[e]));
                }
            }
            for (target, &expected) in dist.iter().enumerate() {
                assert_eq!(
                    router.shortest_path(&network, source, target),
                    Some(expected)
                );
            }
        }
    }
}
