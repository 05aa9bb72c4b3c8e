public import CRMModel
public import CRMProjections

/// A segment definition to append (the fields of `segment.defined`, docs/segments.md).
public struct SegmentDefinition: Sendable {
    public var name: String
    public var definition: JSONObject
    public var description: String?

    public init(name: String, definition: JSONObject, description: String? = nil) {
        self.name = name
        self.definition = definition
        self.description = description
    }

    /// Definitions written as JSON (`crm segment define`): an array of `{"segment", "definition",
    /// "description"?}` objects, or one such object per line. `source` names the text in errors (`file:3`,
    /// `file[2]`). Only the shape is checked here; ``ProjectionRunner/defineSegments(_:at:)`` checks the rest.
    public static func list(fromJSON text: String, source: String) throws(CRMError) -> [SegmentDefinition] {
        var objects = [(place: String, value: JSONValue)]()
        do {
            let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
            if trimmed.hasPrefix("[") {
                guard case .array(let values) = try JSONParser.parse(String(trimmed)) else {
                    throw CRMError(.invalidArgument, "\(source): not a JSON array")
                }
                objects = values.enumerated().map { ("\(source)[\($0.offset)]", $0.element) }
            } else {
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                where !line.allSatisfy(\.isWhitespace) {
                    objects.append(("\(source):\(number + 1)", try JSONParser.parse(String(line))))
                }
            }
        } catch let error as CRMError {
            throw error
        } catch {
            throw CRMError(.invalidArgument, "\(source): not JSON: \(error)")
        }
        var definitions = [SegmentDefinition]()
        for (place, value) in objects {
            guard case .object(let members) = value else {
                throw CRMError(.invalidArgument, "\(place): not a JSON object")
            }
            let object = JSONObject(members)
            guard case .string(let name)? = object["segment"] else {
                throw CRMError(.invalidArgument, "\(place): segment: a name is required")
            }
            guard case .object(let definition)? = object["definition"] else {
                throw CRMError(.invalidArgument, "\(place): definition: an object is required")
            }
            var description: String?
            if case .string(let text)? = object["description"] { description = text }
            definitions.append(
                SegmentDefinition(name: name, definition: JSONObject(definition), description: description)
            )
        }
        return definitions
    }
}

extension ProjectionRunner where P == CustomerProfiles {
    /// Appends `segment.defined` events after checking them the way the log alone cannot: besides the grammar
    /// (checked by every append), a definition may refer only to segments defined before it (in the log or
    /// earlier in `definitions`) and may not make a cycle of `in_segment`. Nothing is appended when one fails; the
    /// error names the definition and the reason. The runner has applied them when this returns.
    @discardableResult
    public func defineSegments(
        _ definitions: [SegmentDefinition],
        at time: EventTime = .now
    ) async throws(CRMError) -> CRMEngine.AppendResult {
        try catchUp()
        var rules = read { state, _ in state.segments.live.mapValues { state.segments.generations[$0].rule } }
        var events = [Event]()
        for (number, segment) in definitions.enumerated() {
            let event = Event(
                at: time,
                customer: nil,
                payload: .segmentDefined(
                    segment: segment.name,
                    definition: segment.definition,
                    description: segment.description
                )
            )
            let stored: Event
            do throws(ValidationError) {
                stored = try engine.codec.validated(event)
            } catch {
                throw CRMError(.invalidEvent, "definition \(number) (\(segment.name)): \(error)", validation: error)
            }
            guard case .segmentDefined(_, let definition, _) = stored.payload,
                let rule = try? SegmentRule(parsing: definition, defaultCurrency: engine.options.defaultCurrency)
            else {
                throw CRMError(.invalidEvent, "definition \(number) (\(segment.name)): not a segment definition")
            }
            rules[segment.name] = rule
            if let problem = SegmentCatalog.problem(in: rules, defining: segment.name) {
                throw CRMError(.invalidEvent, "definition \(number) (\(segment.name)): definition: \(problem)")
            }
            events.append(stored)
        }
        let result = try await engine.append(contentsOf: events)
        try catchUp()
        return result
    }

    /// Appends `segment.removed` for a live segment. Segments that refer to it see it empty from then on.
    @discardableResult
    public func removeSegment(
        _ name: String,
        at time: EventTime = .now
    ) async throws(CRMError) -> CRMEngine.AppendResult {
        try catchUp()
        guard read({ state, _ in state.segments.live[name] != nil }) else {
            throw CRMError(.invalidArgument, "no segment named \(name)")
        }
        let result = try await engine.append(Event(at: time, customer: nil, payload: .segmentRemoved(segment: name)))
        try catchUp()
        return result
    }
}
