import BedrockAgentRuntime

/// Typed reads of the body's fields; `null` counts as absent.
struct FieldReader {
    let fields: [String: JSONValue]

    func string(_ name: String) throws(RequestRefusal) -> String? {
        switch self.fields[name] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw .invalidField(name, "must be a string")
        }
    }

    func boolean(_ name: String) throws(RequestRefusal) -> Bool? {
        switch self.fields[name] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw .invalidField(name, "must be true or false")
        }
    }

    func stringMap(_ name: String) throws(RequestRefusal) -> [String: String]? {
        switch self.fields[name] {
        case nil, .null?: return nil
        case .object(let members)?:
            var map: [String: String] = [:]
            for (key, value) in members {
                guard case .string(let text) = value else {
                    throw .invalidField(name, "must map names to strings; '\(key)' is not a string")
                }
                map[key] = text
            }
            return map
        default: throw .invalidField(name, "must be an object of strings")
        }
    }

    func object(_ name: String) throws(RequestRefusal) -> JSONValue? {
        switch self.fields[name] {
        case nil, .null?: return nil
        case .object(let members)?: return .object(members)
        default: throw .invalidField(name, "must be a JSON object")
        }
    }

    func objects(_ name: String, count: ClosedRange<Int>) throws(RequestRefusal) -> [JSONValue]? {
        switch self.fields[name] {
        case nil, .null?: return nil
        case .array(let items)?:
            guard count.contains(items.count) else {
                throw .invalidField(name, "must hold \(count.lowerBound) to \(count.upperBound) results, got \(items.count)")
            }
            guard items.allSatisfy({ if case .object = $0 { true } else { false } }) else {
                throw .invalidField(name, "must be a list of objects")
            }
            return items
        default: throw .invalidField(name, "must be a list of objects")
        }
    }
}
