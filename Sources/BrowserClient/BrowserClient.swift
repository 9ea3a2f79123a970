/// The browser client library and the playground page, as the files beside this one hold them:
/// `agent-stream.js` (the dependency-free ES module frontends import), `agent-stream.d.ts` (its
/// types, generated from the module's JSDoc by `make client-types`) and `playground.html`. They are
/// compiled into the service (SwiftPM's `embedInCode`), which serves them, so the binary needs no
/// files beside it.
public enum BrowserClient {
    /// `agent-stream.js`.
    public static var library: [UInt8] { PackageResources.agent_stream_js }
    /// `agent-stream.d.ts`.
    public static var typeDeclarations: [UInt8] { PackageResources.agent_stream_d_ts }
    /// `playground.html`, with its `{{NAME}}` placeholders.
    public static var playgroundTemplate: [UInt8] { PackageResources.playground_html }
}
