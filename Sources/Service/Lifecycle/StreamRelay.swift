import NIOCore

/// What the relay asks of its stream (``AgentStream``): the lines of its events and its format's
/// heartbeat.
protocol StreamLines: AnyObject {
    /// Appends the lines of `events` from `next` on, until about ``AgentStream/linesPerWrite``
    /// bytes, moving `next` past the events it wrote.
    func lines(from events: [AgentEvent], next: inout Int, into lines: inout ByteBuffer)
    /// The format's heartbeat, if it has one.
    func heartbeat(into buffer: inout ByteBuffer)
}

/// The forwarding part of a stream, on its connection's event loop: the events of each upstream
/// piece become the stream's lines (``AgentStream/lines(from:next:into:)``), written straight into
/// the client's connection (``StreamWriteHandler``) where the piece arrived, with no task switch
/// in between.
///
/// Flow control: the lines of one piece are written in batches of about
/// ``AgentStream/linesPerWrite`` bytes; when the connection holds more than NIO's high-water mark
/// after a batch, the relay waits for it to drain before the next batch, and the upstream read
/// waits with it (``take(_:)`` returns the wait). What is queued for one client is then bounded by
/// one batch and NIO's write buffer, however slowly it reads. Meanwhile the controller counts the
/// stream as waiting on its client, so a stopped stream whose client reads nothing has its
/// connection closed (``StreamController``).
final class StreamRelay: AttemptSink, @unchecked Sendable {
    // Only touched on the stream's event loop (the connection's own checks it).
    private let stream: any StreamLines
    private let loopBoundConnection: NIOLoopBound<StreamWriteHandler>
    private let controller: StreamController
    private let eventLoop: any EventLoop
    /// The events being written, and the next one to write.
    private var events: [AgentEvent] = []
    private var next = 0
    /// The size a batch of lines starts at: about the last one's, so a line takes one allocation.
    private var capacity = 256
    /// Completed once the connection has drained and the events taken are written.
    private var waiting: EventLoopPromise<Void>?

    init(stream: any StreamLines, connection: NIOLoopBound<StreamWriteHandler>, controller: StreamController, eventLoop: any EventLoop) {
        self.stream = stream
        self.loopBoundConnection = connection
        self.controller = controller
        self.eventLoop = eventLoop
    }

    private var connection: StreamWriteHandler {
        self.loopBoundConnection.value
    }

    func take(_ events: inout [AgentEvent]) -> EventLoopFuture<Void>? {
        if let waiting = self.waiting {
            // Events that come while earlier ones wait on the client (the answer's end, decoded
            // once its last piece was taken) go after them, on the same wait.
            self.events.append(contentsOf: events)
            events.removeAll(keepingCapacity: true)
            return waiting.futureResult
        }
        swap(&self.events, &events)
        self.next = 0
        return self.writeEvents()
    }

    /// A heartbeat is due: written unless lines are waiting on the client (which then keep the
    /// stream alive themselves).
    func heartbeatDue() {
        guard self.waiting == nil, self.controller.takeHeartbeat() else { return }
        var line = StreamWriteHandler.buffer(capacity: 16)
        self.stream.heartbeat(into: &line)
        if line.readableBytes > 0 {
            _ = self.connection.write(&line)
        }
    }

    /// Writes the events left, a batch at a time; returns the wait when the connection is full.
    private func writeEvents() -> EventLoopFuture<Void>? {
        while self.next < self.events.count {
            guard self.connection.isActive else {
                // The client has gone (the controller has been told): nothing is written any more.
                break
            }
            var lines = StreamWriteHandler.buffer(capacity: self.capacity)
            self.stream.lines(from: self.events, next: &self.next, into: &lines)
            guard lines.readableBytes > 0 else { continue }
            self.capacity = min(AgentStream.linesPerWrite + 4096, lines.readableBytes + lines.readableBytes / 8 + 128)
            self.controller.wrote()
            if !self.connection.write(&lines) && self.connection.isActive {
                return self.waitForClient()
            }
        }
        self.events.removeAll(keepingCapacity: true)
        return nil
    }

    private func waitForClient() -> EventLoopFuture<Void> {
        let promise = self.eventLoop.makePromise(of: Void.self)
        self.waiting = promise
        self.controller.writeBegan()
        self.connection.whenWritable { [self] in
            self.controller.writeEnded()
            self.waiting = nil
            if let wait = self.writeEvents() {
                wait.cascade(to: promise)
            } else {
                promise.succeed()
            }
        }
        return promise.futureResult
    }
}
