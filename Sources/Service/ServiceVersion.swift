/// The name and version the service reports in `/health`, `GET /` and its User-Agent.
enum ServiceVersion {
    static let serviceName = "bedrock-agent-streaming"
    static let current = "1.0.0"
}
