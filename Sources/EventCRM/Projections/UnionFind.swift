/// Groups of values joined pairwise (a union-find). The smaller root becomes the root of a union, so any order of
/// the same unions gives the same roots.
struct UnionFind<Member: Hashable & Comparable & Sendable>: Sendable {
    /// Each member's parent; a root is not a key.
    private var parent: [Member: Member] = [:]

    func root(of member: Member) -> Member {
        var current = member
        while let next = parent[current] { current = next }
        return current
    }

    mutating func union(_ a: Member, _ b: Member) {
        let rootA = root(of: a)
        let rootB = root(of: b)
        guard rootA != rootB else { return }
        let (child, root) = rootA < rootB ? (rootB, rootA) : (rootA, rootB)
        parent[child] = root
    }

    /// Every member of `member`'s group (itself included), sorted.
    func members(of member: Member) -> [Member] {
        let root = root(of: member)
        var members = Set([member, root])
        for candidate in parent.keys where self.root(of: candidate) == root { members.insert(candidate) }
        return members.sorted()
    }
}
