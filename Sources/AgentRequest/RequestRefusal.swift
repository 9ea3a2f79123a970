/// Why a request body is refused before anything is sent upstream. The service answers each with
/// its HTTP status and error code: `invalid_json` and `invalid_request` (400), `agent_not_allowed`
/// (403).
public enum RequestRefusal: Error, Equatable, Sendable {
    /// The body is not one JSON object; the detail says where and why.
    case invalidJSON(String)
    /// A field is missing, of the wrong type or outside its rules: the message is the field's name
    /// and the problem, so that it reads as a sentence (`input_text must not be empty`).
    case invalidField(String, String)
    /// A valid request for an agent or runtime this deployment, or this principal, may not invoke.
    case agentNotAllowed
}
