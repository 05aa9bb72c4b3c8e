import CRMModel

/// Paths with their keys and currencies numbered (in name order once finished), flattened into arrays, so that
/// the models add up credits by index instead of hashing strings for every touch, and a million paths are a few
/// arrays rather than a million allocations.
struct IndexedPaths: PathSink {
    /// Keys and currencies by number (in name order once finished): a touch refers to its key by number, a
    /// conversion to its currency.
    private var keyNumbering = Numbering()
    private var currencyNumbering = Numbering()
    var keys: [String] { keyNumbering.names }
    var currencies: [String] { currencyNumbering.names }
    /// Every path's touches one after the other: key number, whether direct, time.
    private(set) var touchKeys: [Int32] = []
    private(set) var touchIsDirect: [Bool] = []
    private(set) var touchTimes: [Int64] = []
    /// Path `i`'s touches are `starts[i]..<starts[i + 1]`.
    private(set) var starts: [Int] = [0]
    /// Per path: its conversion's time, currency number and value (minor units); currency -1 when it did not
    /// convert.
    private(set) var conversionTimes: [Int64] = []
    private(set) var conversionCurrencies: [Int32] = []
    private(set) var conversionValues: [Int64] = []
    /// Conversions without a touch in their window.
    private(set) var untouched: [AttributionPath.Conversion] = []

    /// Consecutive touches usually share their key: compared with the last one before hashing.
    private var lastKey = ""
    private var lastNumber: Int32 = -1
    /// For touches cut from journeys: the vocabulary's words, and the key number of each word met (-1: none yet),
    /// so a touch is numbered by indexing an array.
    private var words: [String] = []
    private var keyOfWord: [Int32] = []

    init(words: [String] = []) { self.words = words }

    /// `paths` and `untouched`, indexed and finished.
    init(_ paths: [AttributionPath], untouched: [AttributionPath.Conversion] = []) {
        for path in paths { add(path.touches[...], conversion: path.conversion) }
        for conversion in untouched { addUntouched(conversion) }
        finish()
    }

    /// Parts (each finished) one after the other, as if they had been added in that order to one.
    init(joining parts: [IndexedPaths]) {
        for part in parts {
            let keyMap = part.keys.map { keyNumbering.number(of: $0) }
            let currencyMap = part.currencies.map { currencyNumbering.number(of: $0) }
            let offset = touchKeys.count
            touchKeys += part.touchKeys.map { keyMap[Int($0)] }
            touchIsDirect += part.touchIsDirect
            touchTimes += part.touchTimes
            starts += part.starts.dropFirst().map { $0 + offset }
            conversionTimes += part.conversionTimes
            conversionCurrencies += part.conversionCurrencies.map { $0 < 0 ? -1 : currencyMap[Int($0)] }
            conversionValues += part.conversionValues
            untouched += part.untouched
        }
        finish()
    }

    mutating func add(_ touches: ArraySlice<AttributionPath.Touch>, conversion: AttributionPath.Conversion?) {
        for touch in touches {
            if lastNumber < 0 || touch.key != lastKey {
                lastKey = touch.key
                lastNumber = keyNumbering.number(of: touch.key)
            }
            touchKeys.append(lastNumber)
            touchIsDirect.append(touch.isDirect)
            touchTimes.append(touch.at)
        }
        endPath(conversion: conversion)
    }

    mutating func add(_ touches: ArraySlice<CutTouch>, conversion: AttributionPath.Conversion?) {
        for touch in touches {
            let word = Int(touch.key)
            if word >= keyOfWord.count { keyOfWord += repeatElement(-1, count: word + 1 - keyOfWord.count) }
            if keyOfWord[word] < 0 { keyOfWord[word] = keyNumbering.number(of: words[word]) }
            touchKeys.append(keyOfWord[word])
            touchIsDirect.append(touch.isDirect)
            touchTimes.append(touch.at)
        }
        endPath(conversion: conversion)
    }

    private mutating func endPath(conversion: AttributionPath.Conversion?) {
        starts.append(touchKeys.count)
        if let conversion {
            conversionTimes.append(conversion.at)
            conversionCurrencies.append(currencyNumbering.number(of: conversion.value.currency.code))
            conversionValues.append(conversion.value.minorUnits)
        } else {
            conversionTimes.append(0)
            conversionCurrencies.append(-1)
            conversionValues.append(0)
        }
    }

    mutating func addUntouched(_ conversion: AttributionPath.Conversion) { untouched.append(conversion) }

    /// Renumbers keys and currencies in name order (the order reports and the Markov chain use).
    mutating func finish() {
        let keyOrder = keyNumbering.sortByName()
        for index in touchKeys.indices { touchKeys[index] = keyOrder[Int(touchKeys[index])] }
        let currencyOrder = currencyNumbering.sortByName()
        for index in conversionCurrencies.indices where conversionCurrencies[index] >= 0 {
            conversionCurrencies[index] = currencyOrder[Int(conversionCurrencies[index])]
        }
        lastNumber = -1
        keyOfWord = []
    }

    var pathCount: Int { starts.count - 1 }

    func touches(of path: Int) -> Range<Int> { starts[path]..<starts[path + 1] }

    func converts(_ path: Int) -> Bool { conversionCurrencies[path] >= 0 }

    /// Path `path` written as attribution tools do: `email > social`.
    func text(of path: Int) -> String { touches(of: path).map { keys[Int(touchKeys[$0])] }.joined(separator: " > ") }
}

/// Credits per key (same order as `IndexedPaths.keys`): conversions, and value per currency (same order as
/// `IndexedPaths.currencies`, minor units).
struct Credits {
    var conversions: [Double]
    var value: [[Double]]

    init(keys: Int, currencies: Int) {
        conversions = [Double](repeating: 0, count: keys)
        value = [[Double]](repeating: [Double](repeating: 0, count: currencies), count: keys)
    }
}

/// Names numbered in the order they come, then renumbered in name order.
struct Numbering {
    private(set) var names: [String] = []
    private var numbers: [String: Int32] = [:]

    /// The number of `name`, given it if new.
    mutating func number(of name: String) -> Int32 {
        if let number = numbers[name] { return number }
        let number = Int32(names.count)
        names.append(name)
        numbers[name] = number
        return number
    }

    /// Renumbers the names in name order; returns each old number's new one.
    mutating func sortByName() -> [Int32] {
        let sorted = names.sorted()
        var order = [Int32](repeating: 0, count: names.count)
        for (position, name) in sorted.enumerated() { order[Int(numbers[name]!)] = Int32(position) }
        names = sorted
        numbers = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, Int32($0)) })
        return order
    }
}
