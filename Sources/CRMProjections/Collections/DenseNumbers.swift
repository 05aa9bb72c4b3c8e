extension Dictionary where Value == Int {
    /// The number of `key`, given the next one (the dictionary's count) if it has none yet, and whether it was
    /// given now: keys numbered 0, 1, 2… in the order first seen, to index arrays kept beside the dictionary.
    mutating func denseNumber(of key: Key) -> (number: Int, isNew: Bool) {
        if let known = self[key] { return (known, false) }
        let number = count
        self[key] = number
        return (number, true)
    }
}
