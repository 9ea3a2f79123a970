/// The JSON payloads of InvokeAgent's stream events, by `:event-type`. Fields Bedrock nests
/// deeply (trace contents, citations, invocation inputs) are kept as ``JSONValue``.
public enum InvokeAgentEvent {
    /// `chunk`: a piece of the answer. `bytes` is base64 of plain UTF-8 text (not JSON), and a
    /// piece may end in the middle of a character.
    public struct Chunk: Codable, Hashable, Sendable {
        public var bytes: String?
        public var attribution: Attribution?

        public init(bytes: String?, attribution: Attribution? = nil) {
            self.bytes = bytes
            self.attribution = attribution
        }
    }

    /// The citations attached to a chunk by knowledge-base retrieval.
    public struct Attribution: Codable, Hashable, Sendable {
        public var citations: [JSONValue]?

        public init(citations: [JSONValue]?) {
            self.citations = citations
        }
    }

    /// `returnControl`: the agent asks its caller to run an action and send back the results with
    /// the same `invocationId`; the stream ends after it.
    public struct ReturnControl: Codable, Hashable, Sendable {
        public var invocationId: String?
        public var invocationInputs: [JSONValue]?

        public init(invocationId: String?, invocationInputs: [JSONValue]?) {
            self.invocationId = invocationId
            self.invocationInputs = invocationInputs
        }
    }

    /// `files`: files the code interpreter produced.
    public struct Files: Codable, Hashable, Sendable {
        public var files: [OutputFile]?

        public init(files: [OutputFile]?) {
            self.files = files
        }
    }

    /// One produced file; `bytes` is base64.
    public struct OutputFile: Codable, Hashable, Sendable {
        public var name: String?
        public var type: String?
        public var bytes: String?

        public init(name: String?, type: String?, bytes: String?) {
            self.name = name
            self.type = type
            self.bytes = bytes
        }
    }

    /// The payload of an exception, in a frame or in an HTTP error body.
    public struct ExceptionMessage: Codable, Hashable, Sendable {
        public var message: String?

        public init(message: String?) {
            self.message = message
        }
    }
}
