//! B+tree operations over a [`PageStore`]: get, insert, put, delete, range
//! cursors, create and destroy, and the structural checker.
//!
//! A tree is named by its **root page, which never moves**: when the root
//! splits, its cells move into two new children and the root becomes their
//! parent; when a root with one child collapses, the child's cells move up
//! into it. Catalogs can store the root page id for good.
//!
//! # Changes and recovery
//!
//! Every page the tree changes is written through the page store, so under a
//! transaction it is logged at commit like any other page (page diffs, full
//! page images after a checkpoint's redo point) and rolled back from
//! before-images. A split touches several pages inside one transaction, so a
//! crash in the middle of it is all-or-nothing with its transaction, and redo
//! is idempotent by page LSN — nothing here is specific to logging.
//!
//! # Space policy on delete
//!
//! A node that falls below a quarter full after a delete is merged into its
//! left (or right) sibling under the same parent when both fit in one page;
//! the parent loses a separator and may merge in turn. A root internal node
//! left with a single child takes that child's cells (the tree gets one
//! level shorter). So no node but the root is empty after a delete, and
//! height stays logarithmic in the number of keys.
//!
//! # Limits
//!
//! A leaf cell (key, value and 4 bytes) and an internal cell (key and 6
//! bytes) must each fit a quarter of a node, so a split always succeeds:
//! [`max_entry`] bytes of key plus value, [`max_key`] bytes of key. Larger
//! entries are [`Error::TooBig`].

use std::collections::HashSet;
use std::ops::Bound;

use crate::error::{Error, Result};
use crate::ids::PageId;
use crate::storage::alloc;
use crate::storage::page::Malformed;
use crate::storage::page::PageType;
use crate::storage::store::PageStore;

use super::node::{
    self, FLAG_NON_UNIQUE, INTERNAL_CELL_HEADER, LEAF_CELL_HEADER, SLOT_LEN, capacity, internal_cell, leaf_cell,
};

/// Longest key (bytes) a tree of `page_size`-byte pages accepts.
pub fn max_key(page_size: usize) -> usize {
    node::max_cell(page_size) - INTERNAL_CELL_HEADER
}

/// Longest key plus value (bytes) a tree of `page_size`-byte pages accepts.
pub fn max_entry(page_size: usize) -> usize {
    node::max_cell(page_size) - LEAF_CELL_HEADER
}

/// A B+tree, named by its root page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BTree {
    root: PageId,
}

/// Which way a cursor walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Ascending keys.
    Forward,
    /// Descending keys.
    Backward,
}

/// What [`BTree::check`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeCheck {
    /// Levels (1 for a lone leaf root).
    pub height: u8,
    /// Every page of the tree, root first.
    pub pages: Vec<PageId>,
    /// Entries in the leaves.
    pub entries: u64,
}

/// Internal node contents while they are rebuilt: cells and rightmost child.
struct Content {
    cells: Vec<Vec<u8>>,
    right: PageId,
}

fn cells_len(cells: &[Vec<u8>]) -> usize {
    cells.iter().map(|c| c.len() + SLOT_LEN).sum()
}

/// Index splitting `cells` into two halves of about equal bytes, each
/// non-empty (for internal nodes the cell at the index moves up).
fn split_point(cells: &[Vec<u8>]) -> usize {
    let total = cells_len(cells);
    let mut acc = 0;
    for (i, c) in cells.iter().enumerate() {
        acc += c.len() + SLOT_LEN;
        if acc * 2 >= total {
            return (i + 1).clamp(1, cells.len() - 1);
        }
    }
    cells.len() / 2
}

fn key_of(cell: &[u8], leaf: bool) -> &[u8] {
    if leaf {
        let klen = usize::from(u16::from_le_bytes([cell[0], cell[1]]));
        &cell[LEAF_CELL_HEADER..LEAF_CELL_HEADER + klen]
    } else {
        &cell[INTERNAL_CELL_HEADER..]
    }
}

fn child_of(cell: &[u8]) -> PageId {
    PageId(u32::from_le_bytes([cell[0], cell[1], cell[2], cell[3]]))
}

fn set_child_of(cell: &mut [u8], id: PageId) {
    cell[..4].copy_from_slice(&id.0.to_le_bytes());
}

impl BTree {
    /// Create an empty tree (a leaf root). A non-unique tree only records
    /// the flag; its entries are made unique by the caller's suffix (see
    /// [`BTree::insert_entry`]).
    pub fn create<S: PageStore>(s: &S, unique: bool) -> Result<BTree> {
        let (id, mut p) = alloc::allocate(s, PageType::BTreeLeaf)?;
        node::init(&mut p, id, id, 0);
        if !unique {
            node::set_flags(&mut p, FLAG_NON_UNIQUE);
        }
        Ok(BTree { root: id })
    }

    /// The tree whose root is `root` (checked on use).
    pub fn open(root: PageId) -> BTree {
        BTree { root }
    }

    /// The root page, which names the tree.
    pub fn root(&self) -> PageId {
        self.root
    }

    /// Whether the tree was created unique.
    pub fn is_unique<S: PageStore>(&self, s: &S) -> Result<bool> {
        let r = self.read(s, self.root)?;
        Ok(node::flags(&r) & FLAG_NON_UNIQUE == 0)
    }

    fn malformed<'s, S: PageStore>(&self, s: &'s S, id: PageId) -> impl Fn(Malformed) -> Error + 's {
        move |m| s.corrupt(id, m.0)
    }

    fn verify<S: PageStore>(&self, s: &S, id: PageId, buf: &[u8]) -> Result<()> {
        node::check(buf).map_err(self.malformed(s, id))?;
        if node::tree(buf) != self.root {
            return Err(s.corrupt(id, format!("node of tree {} reached from tree {}", node::tree(buf), self.root)));
        }
        Ok(())
    }

    fn read<'s, S: PageStore>(&self, s: &'s S, id: PageId) -> Result<S::Read<'s>> {
        let p = s.read(id)?;
        self.verify(s, id, &p)?;
        Ok(p)
    }

    fn write<'s, S: PageStore>(&self, s: &'s S, id: PageId) -> Result<S::Write<'s>> {
        let p = s.write(id)?;
        self.verify(s, id, &p)?;
        Ok(p)
    }

    /// The internal nodes on the way to the leaf for `key` (page, child
    /// index taken), and that leaf.
    fn descend<S: PageStore>(&self, s: &S, key: &[u8]) -> Result<(Vec<(PageId, usize)>, PageId)> {
        let mut path = Vec::new();
        let mut id = self.root;
        loop {
            let p = self.read(s, id)?;
            if node::is_leaf(&p) {
                return Ok((path, id));
            }
            let i = node::child_index(&p, key).map_err(self.malformed(s, id))?;
            let next = node::child(&p, i).map_err(self.malformed(s, id))?;
            path.push((id, i));
            if path.len() > 64 {
                return Err(s.corrupt(id, "tree deeper than 64 levels: a cycle".into()));
            }
            id = next;
        }
    }

    /// The value stored under `key`.
    pub fn get<S: PageStore>(&self, s: &S, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut id = self.root;
        for _ in 0..64 {
            let p = self.read(s, id)?;
            if node::is_leaf(&p) {
                return match node::search(&p, key).map_err(self.malformed(s, id))? {
                    Ok(i) => Ok(Some(node::value(&p, i).map_err(self.malformed(s, id))?.to_vec())),
                    Err(_) => Ok(None),
                };
            }
            let i = node::child_index(&p, key).map_err(self.malformed(s, id))?;
            id = node::child(&p, i).map_err(self.malformed(s, id))?;
        }
        Err(s.corrupt(id, "tree deeper than 64 levels: a cycle".into()))
    }

    fn check_size(&self, page_size: usize, key: &[u8], value: &[u8]) -> Result<()> {
        if key.len() > max_key(page_size) {
            return Err(Error::TooBig { what: "index key", size: key.len(), limit: max_key(page_size) });
        }
        if key.len() + value.len() > max_entry(page_size) {
            return Err(Error::TooBig {
                what: "index entry",
                size: key.len() + value.len(),
                limit: max_entry(page_size),
            });
        }
        Ok(())
    }

    /// Insert `key` → `value`; false (tree unchanged) if `key` is present.
    pub fn insert<S: PageStore>(&self, s: &S, key: &[u8], value: &[u8]) -> Result<bool> {
        self.check_size(s.page_size(), key, value)?;
        let (path, leaf_id) = self.descend(s, key)?;
        let mut leaf = self.write(s, leaf_id)?;
        let pos = match node::search(&leaf, key).map_err(self.malformed(s, leaf_id))? {
            Ok(_) => return Ok(false),
            Err(pos) => pos,
        };
        let cell = leaf_cell(key, value);
        if node::insert(&mut leaf, pos, &cell).map_err(self.malformed(s, leaf_id))? {
            return Ok(true);
        }
        let mut cells = node::cells(&leaf).map_err(self.malformed(s, leaf_id))?;
        // A key past the end of the last leaf: the tree is being appended
        // to (ascending rowids), so the full leaf stays full.
        let appending = pos == cells.len() && node::right(&leaf).is_none();
        cells.insert(pos, cell);
        drop(leaf);
        self.split_leaf(s, path, leaf_id, cells, appending)?;
        Ok(true)
    }

    /// Store `key` → `value`, replacing any value; returns the old one.
    pub fn put<S: PageStore>(&self, s: &S, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_size(s.page_size(), key, value)?;
        let old = self.delete(s, key)?;
        self.insert(s, key, value)?;
        Ok(old)
    }

    /// Split a leaf whose contents would be `cells`.
    fn split_leaf<S: PageStore>(
        &self,
        s: &S,
        path: Vec<(PageId, usize)>,
        id: PageId,
        cells: Vec<Vec<u8>>,
        appending: bool,
    ) -> Result<()> {
        // Appending, the new key alone starts the new leaf (as SQLite's
        // balance_quick): a table filled in rowid order ends with full
        // leaves, not half-full ones — half the pages, half the log.
        let m = if appending && cells.len() > 1 { cells.len() - 1 } else { split_point(&cells) };
        let sep = key_of(&cells[m], true).to_vec();
        if id == self.root {
            let (a, mut pa) = alloc::allocate(s, PageType::BTreeLeaf)?;
            let (b, mut pb) = alloc::allocate(s, PageType::BTreeLeaf)?;
            for (p, pid, part) in [(&mut pa, a, &cells[..m]), (&mut pb, b, &cells[m..])] {
                node::init(p, pid, self.root, 0);
                node::rebuild(p, part).map_err(self.malformed(s, pid))?;
            }
            node::set_right(&mut pa, b);
            node::set_left(&mut pb, a);
            drop((pa, pb));
            return self.make_root(s, 1, Content { cells: vec![internal_cell(a, &sep)], right: b });
        }
        let (r, mut pr) = alloc::allocate(s, PageType::BTreeLeaf)?;
        node::init(&mut pr, r, self.root, 0);
        node::rebuild(&mut pr, &cells[m..]).map_err(self.malformed(s, r))?;
        let old_right = {
            let mut l = self.write(s, id)?;
            node::rebuild(&mut l, &cells[..m]).map_err(self.malformed(s, id))?;
            let old_right = node::right(&l);
            node::set_right(&mut l, r);
            old_right
        };
        node::set_left(&mut pr, id);
        node::set_right(&mut pr, old_right);
        drop(pr);
        if !old_right.is_none() {
            let mut o = self.write(s, old_right)?;
            node::set_left(&mut o, r);
        }
        self.insert_separator(s, path, id, sep, r)
    }

    /// After child `left` of the last node on `path` split off `right` at
    /// `sep`, record the separator in that parent (splitting it if full).
    fn insert_separator<S: PageStore>(
        &self,
        s: &S,
        mut path: Vec<(PageId, usize)>,
        left: PageId,
        sep: Vec<u8>,
        right: PageId,
    ) -> Result<()> {
        let Some((pid, idx)) = path.pop() else {
            return Err(s.corrupt(left, "split of a non-root node without a parent".into()));
        };
        let cell = internal_cell(left, &sep);
        let mut p = self.write(s, pid)?;
        if node::insert(&mut p, idx, &cell).map_err(self.malformed(s, pid))? {
            return node::set_child(&mut p, idx + 1, right).map_err(self.malformed(s, pid));
        }
        let mut cells = node::cells(&p).map_err(self.malformed(s, pid))?;
        let mut rightmost = node::right(&p);
        cells.insert(idx, cell);
        if idx + 1 < cells.len() {
            set_child_of(&mut cells[idx + 1], right);
        } else {
            rightmost = right;
        }
        let level = node::level(&p);
        drop(p);
        self.split_internal(s, path, pid, level, Content { cells, right: rightmost })
    }

    /// Split an internal node whose contents would be `content`.
    fn split_internal<S: PageStore>(
        &self,
        s: &S,
        path: Vec<(PageId, usize)>,
        id: PageId,
        level: u8,
        content: Content,
    ) -> Result<()> {
        let Content { cells, right } = content;
        let m = split_point(&cells);
        let sep = key_of(&cells[m], false).to_vec();
        let mid_child = child_of(&cells[m]);
        if id == self.root {
            let (a, mut pa) = alloc::allocate(s, PageType::BTreeInternal)?;
            let (b, mut pb) = alloc::allocate(s, PageType::BTreeInternal)?;
            for (p, pid, part, r) in [(&mut pa, a, &cells[..m], mid_child), (&mut pb, b, &cells[m + 1..], right)] {
                node::init(p, pid, self.root, level);
                node::rebuild(p, part).map_err(self.malformed(s, pid))?;
                node::set_right(p, r);
            }
            drop((pa, pb));
            return self.make_root(s, level + 1, Content { cells: vec![internal_cell(a, &sep)], right: b });
        }
        let (r, mut pr) = alloc::allocate(s, PageType::BTreeInternal)?;
        node::init(&mut pr, r, self.root, level);
        node::rebuild(&mut pr, &cells[m + 1..]).map_err(self.malformed(s, r))?;
        node::set_right(&mut pr, right);
        drop(pr);
        {
            let mut l = self.write(s, id)?;
            node::rebuild(&mut l, &cells[..m]).map_err(self.malformed(s, id))?;
            node::set_right(&mut l, mid_child);
        }
        self.insert_separator(s, path, id, sep, r)
    }

    /// Rewrite the root in place as an internal node at `level`.
    fn make_root<S: PageStore>(&self, s: &S, level: u8, content: Content) -> Result<()> {
        let mut root = s.write(self.root)?;
        let flags = node::flags(&root);
        node::init(&mut root, self.root, self.root, level);
        node::set_flags(&mut root, flags);
        node::rebuild(&mut root, &content.cells).map_err(self.malformed(s, self.root))?;
        node::set_right(&mut root, content.right);
        Ok(())
    }

    /// Remove `key`; returns its value if it was present.
    pub fn delete<S: PageStore>(&self, s: &S, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (path, leaf_id) = self.descend(s, key)?;
        let mut leaf = self.write(s, leaf_id)?;
        let pos = match node::search(&leaf, key).map_err(self.malformed(s, leaf_id))? {
            Ok(pos) => pos,
            Err(_) => return Ok(None),
        };
        let old = node::value(&leaf, pos).map_err(self.malformed(s, leaf_id))?.to_vec();
        node::remove(&mut leaf, pos).map_err(self.malformed(s, leaf_id))?;
        let underfull = node::used(&leaf) * 4 < capacity(s.page_size());
        drop(leaf);
        if leaf_id != self.root && underfull {
            self.rebalance(s, path, leaf_id)?;
        }
        Ok(Some(old))
    }

    /// Merge the underfull node `id` (the child taken at the end of `path`)
    /// with a sibling if both fit one page; then fix its parent.
    fn rebalance<S: PageStore>(&self, s: &S, mut path: Vec<(PageId, usize)>, id: PageId) -> Result<()> {
        let Some(&(pid, idx)) = path.last() else { return Ok(()) };
        let (left, right, sep_index) = {
            let p = self.read(s, pid)?;
            let n = node::count(&p);
            if idx > 0 {
                (node::child(&p, idx - 1).map_err(self.malformed(s, pid))?, id, idx - 1)
            } else if idx < n {
                (id, node::child(&p, idx + 1).map_err(self.malformed(s, pid))?, idx)
            } else {
                (id, id, usize::MAX)
            }
        };
        if sep_index == usize::MAX || !self.merge(s, pid, left, right, sep_index)? {
            return Ok(());
        }
        let (root_single, underfull) = {
            let p = self.read(s, pid)?;
            (node::count(&p) == 0, node::used(&p) * 4 < capacity(s.page_size()))
        };
        if pid == self.root {
            if root_single {
                self.collapse_root(s)?;
            }
            return Ok(());
        }
        if underfull {
            path.pop();
            self.rebalance(s, path, pid)?;
        }
        Ok(())
    }

    /// Merge `right` into `left` (adjacent children of `pid`, separated by
    /// cell `sep_index`) if the result fits one page.
    fn merge<S: PageStore>(&self, s: &S, pid: PageId, left: PageId, right: PageId, sep_index: usize) -> Result<bool> {
        let mut p = self.write(s, pid)?;
        let mut l = self.write(s, left)?;
        let r = self.write(s, right)?;
        let leaf = node::is_leaf(&l);
        let mut cells = node::cells(&l).map_err(self.malformed(s, left))?;
        if !leaf {
            let sep = node::key(&p, sep_index).map_err(self.malformed(s, pid))?;
            cells.push(internal_cell(node::right(&l), sep));
        }
        cells.extend(node::cells(&r).map_err(self.malformed(s, right))?);
        if cells_len(&cells) > capacity(s.page_size()) {
            return Ok(false);
        }
        node::rebuild(&mut l, &cells).map_err(self.malformed(s, left))?;
        let right_link = node::right(&r);
        node::set_right(&mut l, right_link);
        drop(r);
        drop(l);
        if leaf && !right_link.is_none() {
            let mut rr = self.write(s, right_link)?;
            node::set_left(&mut rr, left);
        }
        node::remove(&mut p, sep_index).map_err(self.malformed(s, pid))?;
        node::set_child(&mut p, sep_index, left).map_err(self.malformed(s, pid))?;
        drop(p);
        alloc::free(s, right)?;
        Ok(true)
    }

    /// The root has one child and no key: take the child's contents.
    fn collapse_root<S: PageStore>(&self, s: &S) -> Result<()> {
        let mut root = self.write(s, self.root)?;
        let child = node::right(&root);
        let c = self.read(s, child)?;
        let cells = node::cells(&c).map_err(self.malformed(s, child))?;
        let (level, right) = (node::level(&c), node::right(&c));
        drop(c);
        let flags = node::flags(&root);
        node::init(&mut root, self.root, self.root, level);
        node::set_flags(&mut root, flags);
        node::rebuild(&mut root, &cells).map_err(self.malformed(s, self.root))?;
        // A leaf child was the only leaf: no siblings. An internal child's
        // right link is its rightmost child.
        node::set_right(&mut root, if level == 0 { PageId::NONE } else { right });
        drop(root);
        alloc::free(s, child)
    }

    /// A cursor over the keys within `lo`..`hi`, walking in `dir`.
    pub fn range<S: PageStore>(&self, s: &S, lo: Bound<&[u8]>, hi: Bound<&[u8]>, dir: Direction) -> Result<Cursor> {
        let mut c = Cursor {
            tree: *self,
            leaf: PageId::NONE,
            pos: 0,
            lo: lo.map(<[u8]>::to_vec),
            hi: hi.map(<[u8]>::to_vec),
            dir,
            done: false,
            page: Vec::new(),
            page_id: PageId::NONE,
            batch: std::collections::VecDeque::new(),
        };
        let start = match dir {
            Direction::Forward => &c.lo,
            Direction::Backward => &c.hi,
        };
        let (leaf, pos) = match start {
            Bound::Unbounded => {
                let leaf = self.edge_leaf(s, dir)?;
                let n = node::count(&self.read(s, leaf)?);
                (leaf, if dir == Direction::Forward { 0 } else { n })
            }
            Bound::Included(k) | Bound::Excluded(k) => {
                let (_, leaf) = self.descend(s, k)?;
                let p = self.read(s, leaf)?;
                let found = node::search(&p, k).map_err(self.malformed(s, leaf))?;
                let incl = matches!(start, Bound::Included(_));
                let pos = match (dir, found) {
                    (Direction::Forward, Ok(i)) => i + usize::from(!incl),
                    (Direction::Forward, Err(i)) => i,
                    (Direction::Backward, Ok(i)) => i + usize::from(incl),
                    (Direction::Backward, Err(i)) => i,
                };
                (leaf, pos)
            }
        };
        c.leaf = leaf;
        c.pos = pos;
        Ok(c)
    }

    /// The leftmost (forward) or rightmost (backward) leaf.
    fn edge_leaf<S: PageStore>(&self, s: &S, dir: Direction) -> Result<PageId> {
        let mut id = self.root;
        for _ in 0..64 {
            let p = self.read(s, id)?;
            if node::is_leaf(&p) {
                return Ok(id);
            }
            id = match dir {
                Direction::Forward => node::child(&p, 0).map_err(self.malformed(s, id))?,
                Direction::Backward => node::right(&p),
            };
        }
        Err(s.corrupt(id, "tree deeper than 64 levels: a cycle".into()))
    }

    /// Every page of the tree (root first, breadth first).
    pub fn pages<S: PageStore>(&self, s: &S) -> Result<Vec<PageId>> {
        let mut out = vec![self.root];
        let mut i = 0;
        while i < out.len() {
            let id = out[i];
            let p = self.read(s, id)?;
            if !node::is_leaf(&p) {
                for c in 0..=node::count(&p) {
                    out.push(node::child(&p, c).map_err(self.malformed(s, id))?);
                }
            }
            i += 1;
            if out.len() > 1 << 31 {
                return Err(s.corrupt(id, "tree with a cycle".into()));
            }
        }
        Ok(out)
    }

    /// Free every page of the tree, the root included.
    pub fn destroy<S: PageStore>(self, s: &S) -> Result<()> {
        for id in self.pages(s)? {
            alloc::free(s, id)?;
        }
        Ok(())
    }

    /// Check the whole structure: page types and checksums (on read), tree
    /// ids, key order within nodes and against the separators above them,
    /// levels, the leaf chain in both directions, and that no page is
    /// reached twice. Returns the pages it owns (for a whole-file check
    /// that finds orphans).
    pub fn check<S: PageStore>(&self, s: &S) -> Result<TreeCheck> {
        let mut seen = HashSet::new();
        let mut leaves = Vec::new();
        let mut out = TreeCheck::default();
        let root_level = node::level(&self.read(s, self.root)?);
        self.check_node(s, self.root, root_level, None, None, &mut seen, &mut leaves, &mut out)?;
        out.height = root_level + 1;
        for (i, &leaf) in leaves.iter().enumerate() {
            let p = self.read(s, leaf)?;
            let want_left = if i == 0 { PageId::NONE } else { leaves[i - 1] };
            let want_right = leaves.get(i + 1).copied().unwrap_or(PageId::NONE);
            if node::left(&p) != want_left || node::right(&p) != want_right {
                return Err(s.corrupt(
                    leaf,
                    format!(
                        "leaf chain: links {}/{}, expected {want_left}/{want_right}",
                        node::left(&p),
                        node::right(&p)
                    ),
                ));
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn check_node<S: PageStore>(
        &self,
        s: &S,
        id: PageId,
        level: u8,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
        seen: &mut HashSet<PageId>,
        leaves: &mut Vec<PageId>,
        out: &mut TreeCheck,
    ) -> Result<()> {
        if !seen.insert(id) {
            return Err(s.corrupt(id, "page reached twice in the tree".into()));
        }
        out.pages.push(id);
        let p = self.read(s, id)?;
        if node::level(&p) != level {
            return Err(s.corrupt(id, format!("level {} where {level} was expected", node::level(&p))));
        }
        let n = node::count(&p);
        let mut prev: Option<Vec<u8>> = None;
        for i in 0..n {
            let k = node::key(&p, i).map_err(self.malformed(s, id))?;
            if prev.as_deref().is_some_and(|pk| pk >= k) {
                return Err(s.corrupt(id, format!("keys out of order at cell {i}")));
            }
            if lo.is_some_and(|l| k < l) || hi.is_some_and(|h| k >= h) {
                return Err(s.corrupt(id, format!("key of cell {i} outside the separators above it")));
            }
            prev = Some(k.to_vec());
        }
        if level == 0 {
            out.entries += n as u64;
            leaves.push(id);
            return Ok(());
        }
        let keys: Vec<Vec<u8>> = (0..n)
            .map(|i| node::key(&p, i).map(<[u8]>::to_vec))
            .collect::<std::result::Result<_, _>>()
            .map_err(self.malformed(s, id))?;
        let children: Vec<PageId> = (0..=n)
            .map(|i| node::child(&p, i))
            .collect::<std::result::Result<_, _>>()
            .map_err(self.malformed(s, id))?;
        drop(p);
        for (i, child) in children.into_iter().enumerate() {
            let clo = if i == 0 { lo } else { Some(keys[i - 1].as_slice()) };
            let chi = if i == n { hi } else { Some(keys[i].as_slice()) };
            self.check_node(s, child, level - 1, clo, chi, seen, leaves, out)?;
        }
        Ok(())
    }

    /// Non-unique trees: add `key` with `locator` (e.g. a rowid's 8 bytes)
    /// appended, so equal keys are stored once per row. The key must be
    /// self-delimiting (as the memcomparable encoding is).
    pub fn insert_entry<S: PageStore>(&self, s: &S, key: &[u8], locator: &[u8]) -> Result<bool> {
        self.insert(s, &[key, locator].concat(), &[])
    }

    /// Non-unique trees: remove the entry of `key` for `locator`.
    pub fn delete_entry<S: PageStore>(&self, s: &S, key: &[u8], locator: &[u8]) -> Result<bool> {
        Ok(self.delete(s, &[key, locator].concat())?.is_some())
    }
}

/// A position in a range scan. It holds no latch between calls; the tree
/// must not change while it is used (readers exclude writers; a writer that
/// scans and changes the same tree collects first).
#[derive(Clone, Debug)]
pub struct Cursor {
    tree: BTree,
    leaf: PageId,
    /// Forward: the next cell to return. Backward: one past it.
    pos: usize,
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    dir: Direction,
    done: bool,
    /// A copy of the leaf being walked and the cells of it still to
    /// return, in walking order: a leaf is pinned, verified and copied once,
    /// not once per entry.
    page: Vec<u8>,
    page_id: PageId,
    batch: std::collections::VecDeque<usize>,
}

impl Cursor {
    fn in_range(&self, k: &[u8]) -> (bool, bool) {
        let above_lo = match &self.lo {
            Bound::Unbounded => true,
            Bound::Included(l) => k >= l.as_slice(),
            Bound::Excluded(l) => k > l.as_slice(),
        };
        let below_hi = match &self.hi {
            Bound::Unbounded => true,
            Bound::Included(h) => k <= h.as_slice(),
            Bound::Excluded(h) => k < h.as_slice(),
        };
        (above_lo, below_hi)
    }

    /// The next (key, value), or `None` past the end of the range.
    #[allow(clippy::should_implement_trait)]
    pub fn next<S: PageStore>(&mut self, s: &S) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.next_with(s, |k, v| Ok((k.to_vec(), v.to_vec())))
    }

    /// The next entry, handed to `f` as `(key, value)` slices (no copies).
    pub fn next_with<S: PageStore, T>(
        &mut self,
        s: &S,
        f: impl FnOnce(&[u8], &[u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        if self.batch.is_empty() && !self.fill(s)? {
            return Ok(None);
        }
        let Some(i) = self.batch.pop_front() else { return Ok(None) };
        let t = self.tree;
        let k = node::key(&self.page, i).map_err(t.malformed(s, self.page_id))?;
        let v = node::value(&self.page, i).map_err(t.malformed(s, self.page_id))?;
        f(k, v).map(Some)
    }

    /// Copy the next leaf with entries in range and queue them; false at
    /// the end.
    fn fill<S: PageStore>(&mut self, s: &S) -> Result<bool> {
        let t = self.tree;
        for _ in 0..(1usize << 32) {
            if self.done || self.leaf.is_none() {
                self.done = true;
                return Ok(false);
            }
            let p = t.read(s, self.leaf)?;
            let n = node::count(&p);
            // Every entry left on this leaf, up to the end of the range.
            loop {
                let index = match self.dir {
                    Direction::Forward if self.pos < n => self.pos,
                    Direction::Backward if self.pos > 0 && self.pos <= n => self.pos - 1,
                    _ => break,
                };
                let k = node::key(&p, index).map_err(t.malformed(s, self.leaf))?;
                let (above, below) = self.in_range(k);
                if (self.dir == Direction::Forward && !below) || (self.dir == Direction::Backward && !above) {
                    self.done = true;
                    break;
                }
                self.batch.push_back(index);
                match self.dir {
                    Direction::Forward => self.pos += 1,
                    Direction::Backward => self.pos -= 1,
                }
            }
            if !self.batch.is_empty() {
                self.page.clear();
                self.page.extend_from_slice(&p);
                self.page_id = self.leaf;
            }
            if !self.done {
                // Off this leaf: on to the sibling (the copy keeps the
                // entries queued from this one).
                let next = match self.dir {
                    Direction::Forward => node::right(&p),
                    Direction::Backward => node::left(&p),
                };
                drop(p);
                self.leaf = next;
                self.pos = 0;
                if self.dir == Direction::Backward && !next.is_none() {
                    self.pos = node::count(&t.read(s, next)?);
                }
            }
            if !self.batch.is_empty() {
                return Ok(true);
            }
        }
        Err(s.corrupt(self.leaf, "leaf chain with a cycle".into()))
    }
}
