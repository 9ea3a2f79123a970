import Hummingbird
import NIOCore

/// The request context, keeping the connection so a stream can notice when its client has gone
/// away while it waits between frames.
struct MockRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
