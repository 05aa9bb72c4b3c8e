import CRMModel

/// A live segment rule in the form the fold evaluates (docs/segments.md, section 3): its nodes in preorder (the
/// numbering of `SegmentRule.nodes`, which membership changes record), each a test of plain values. Channels,
/// campaigns and currencies are resolved to words of ``Vocabulary`` and RFM groups to bits once, when the
/// catalog derives its live rules; walking the `SegmentRule` tree looked each word up again, and retained each
/// node, every time a customer was evaluated. A class, immutable once built: taking a rule out of the catalog
/// retains one reference, where a struct of five arrays retained five.
final class CompiledRule: Sendable {
    /// One node. Strings and lists that a test compares with are kept beside the nodes (`strings`, `lists`,
    /// `wordLists`), so that a node holds no reference and reading one retains nothing.
    enum Test: Sendable {
        case all
        case any
        case not
        case count(tag: UInt8, window: Int64, comparison: SegmentRule.Comparison, value: Int64)
        case sum(
            metric: SegmentRule.SumMetric,
            window: Int64,
            currency: Vocabulary.Word,
            comparison: SegmentRule.Comparison,
            value: Int64
        )
        /// Index into `strings`: the channel.
        case consent(Int)
        /// Index into `wordLists`: the country codes as words of ``Vocabulary``, compared with the profile's
        /// (``PackedWord``) without reading the word out of the vocabulary, which takes its lock.
        case country(Int)
        /// Index into `lists`.
        case city(Int)
        /// `window`: nil for ever.
        case touchedChannel(Vocabulary.Word, window: Int64?)
        case touchedCampaign(Vocabulary.Word, window: Int64?)
        /// Index into `strings`: `sku:SKU` or `category:NAME`.
        case subscribed(Int)
        /// Bit `n` set: the group numbered `n` (its place in `SegmentRule.rfmGroups` plus one).
        case rfm(groups: UInt16)
        /// The segment's slot (``SegmentCatalog/liveNames``); -1 for a segment not live, which nobody is in.
        case inSegment(slot: Int)
    }

    let tests: [Test]
    /// Per node: the number of the first node after its subtree (its next sibling's, when it has one).
    let ends: [Int]
    /// Per node: the event types that can change its value (``SegmentCatalog/triggers(of:)``).
    let triggers: [TypeTagSet]
    let strings: [String]
    let lists: [[String]]
    let wordLists: [[Vocabulary.Word]]

    /// `slots`: the live segments' slots, which `in_segment` reads.
    init(_ rule: SegmentRule, slots: [String: Int]) {
        var builder = Builder(slots: slots)
        builder.add(rule)
        tests = builder.tests
        ends = builder.ends
        triggers = builder.triggers
        strings = builder.strings
        lists = builder.lists
        wordLists = builder.wordLists
    }
}

extension CompiledRule {
    /// The parts of a rule while its nodes are added in preorder.
    private struct Builder {
        let slots: [String: Int]
        var tests: [Test] = []
        var ends: [Int] = []
        var triggers: [TypeTagSet] = []
        var strings: [String] = []
        var lists: [[String]] = []
        var wordLists: [[Vocabulary.Word]] = []

        mutating func add(_ rule: SegmentRule) {
            let node = tests.count
            tests.append(.all)  // replaced below, once the node's children are in place
            ends.append(0)
            triggers.append(SegmentCatalog.triggers(of: rule))
            func string(_ text: String) -> Int {
                strings.append(text)
                return strings.count - 1
            }
            func list(_ texts: [String]) -> Int {
                lists.append(texts)
                return lists.count - 1
            }
            func wordList(_ texts: [String]) -> Int {
                wordLists.append(texts.map(Vocabulary.number(of:)))
                return wordLists.count - 1
            }
            let test: Test
            switch rule {
            case .all(let rules):
                for member in rules { add(member) }
                test = .all
            case .any(let rules):
                for member in rules { add(member) }
                test = .any
            case .not(let inner):
                add(inner)
                test = .not
            case .count(let type, let window, let comparison, let value):
                test = .count(tag: UInt8(type.tag), window: window.microseconds, comparison: comparison, value: value)
            case .sum(let metric, let window, let comparison, let value):
                test = .sum(
                    metric: metric,
                    window: window.microseconds,
                    currency: Vocabulary.number(of: value.currency.code),
                    comparison: comparison,
                    value: value.minorUnits
                )
            case .consent(let channel): test = .consent(string(channel))
            case .country(let codes): test = .country(wordList(codes))
            case .city(let names): test = .city(list(names))
            case .touchedChannel(let channel, let window):
                test = .touchedChannel(Vocabulary.number(of: channel), window: window?.microseconds)
            case .touchedCampaign(let campaign, let window):
                test = .touchedCampaign(Vocabulary.number(of: campaign), window: window?.microseconds)
            case .subscribed(let target): test = .subscribed(string(target))
            case .rfm(let groups):
                var bits: UInt16 = 0
                for group in groups {
                    if let number = SegmentRule.rfmGroups.firstIndex(of: group) { bits |= 1 << (number + 1) }
                }
                test = .rfm(groups: bits)
            case .inSegment(let name): test = .inSegment(slot: slots[name] ?? -1)
            }
            tests[node] = test
            ends[node] = tests.count
        }
    }
}
