import BedrockAgentRuntime
import EventStream
import Foundation
import InMemoryTracing
import NIOCore
import NIOFoundationCompat
import Testing
import Tracing

@testable import AgentStreamingService

/// The agent's steps as spans (``AgentStepSpans``), checked on the real recordings with an
/// in-memory tracer; the OTLP export and the service's own spans are checked end to end in
/// Tests/EndToEnd/test_tracing.py.
@Suite("Tracing: the agent's steps as spans")
struct AgentStepSpansTests {
    /// The trace payloads of a recording, from its frames.
    static func traces(ofRecording name: String) throws -> [ByteBuffer] {
        let bytes = ByteBuffer(bytes: try Data(contentsOf: fixturesFolder.appendingPathComponent("\(name).eventstream")))
        let processor = NIOSingleStepByteToMessageProcessor(EventStreamDecoder())
        var traces: [ByteBuffer] = []
        func add(_ message: EventStreamMessage) throws {
            if case .event(type: "trace") = try message.kind { traces.append(message.payload) }
        }
        try processor.process(buffer: bytes) { try add($0) }
        try processor.finishProcessing(seenEOF: true) { try add($0) }
        return traces
    }

    /// The spans the recording's traces make under a root span of the tracer's.
    static func spans(ofRecording name: String, recordsContent: Bool = false) throws -> (root: FinishedInMemorySpan, spans: [FinishedInMemorySpan]) {
        let tracer = InMemoryTracer()
        let root = tracer.startSpan("attempt", context: .topLevel)
        let steps = AgentStepSpans(tracer: tracer, root: root.context, recordsContent: recordsContent)
        for trace in try Self.traces(ofRecording: name) {
            steps.record(tracePayload: trace)
        }
        steps.finish()
        root.end()
        #expect(tracer.activeSpans.isEmpty, "every span is ended")
        let finished = tracer.finishedSpans
        return (try #require(finished.first { $0.operationName == "attempt" }), finished.filter { $0.operationName != "attempt" })
    }

    static func children(of parent: FinishedInMemorySpan, in spans: [FinishedInMemorySpan]) -> [FinishedInMemorySpan] {
        spans.filter { $0.parentSpanID == parent.spanID }.sorted { $0.startInstant.nanosecondsSinceEpoch < $1.startInstant.nanosecondsSinceEpoch }
    }

    static func texts(_ spans: [FinishedInMemorySpan]) -> [String] {
        spans.flatMap { span in
            var texts = [span.operationName]
            // SpanAttributes is no Sequence: forEach is its own method.
            // swift-format-ignore: ReplaceForEachWithForLoop
            span.attributes.forEach { _, attribute in texts.append("\(attribute)") }
            return texts
        }
    }

    @Test("a supervisor's collaborators nest by caller chain, each model invocation timed and counted as Bedrock reports it")
    func collaborators() throws {
        let (root, spans) = try Self.spans(ofRecording: "CAPMULTI")
        let steps = Self.children(of: root, in: spans)
        #expect(steps.map(\.operationName) == ["orchestration", "orchestration"])
        let first = Self.children(of: steps[0], in: spans)
        #expect(first.map(\.operationName) == ["chat anthropic.claude-3-haiku-20240307-v1:0", "invoke_agent SimpleSupervisor"])
        let supervisor = first[1]
        #expect(supervisor.attributes["gen_ai.agent.id"]?.toSpanAttribute() == "KZJDL3ZYQR")
        // 2025-05-21T09:49:03.625868225Z (its input's event) to 2025-05-21T09:49:17.315764432Z (its output's endTime).
        #expect(supervisor.startInstant.nanosecondsSinceEpoch == 1_747_820_943_625_868_225)
        #expect(supervisor.endInstant.nanosecondsSinceEpoch == 1_747_820_957_315_764_432)
        let math = try #require(spans.first { $0.operationName == "invoke_agent MathSolverAgent" })
        let mathStep = try #require(spans.first { $0.spanID == math.parentSpanID })
        #expect(mathStep.parentSpanID == supervisor.spanID)
        #expect(Self.children(of: math, in: spans).count == 5)

        let chats = spans.filter { $0.operationName.hasPrefix("chat ") }
        let usage = try UsageTests.expectedUsage(ofRecording: "CAPMULTI")
        #expect(chats.count == usage.modelInvocations)
        let input = chats.compactMap { span -> Int? in
            guard case .int64(let value)? = span.attributes["gen_ai.usage.input_tokens"]?.toSpanAttribute() else { return nil }
            return Int(value)
        }
        #expect(input.reduce(0, +) == usage.inputTokens)
        // The first invocation: metadata startTime 09:49:01.982141854, totalTimeMs 1629.
        let firstChat = first[0]
        #expect(firstChat.startInstant.nanosecondsSinceEpoch == 1_747_820_941_982_141_854)
        #expect((firstChat.endInstant.nanosecondsSinceEpoch - firstChat.startInstant.nanosecondsSinceEpoch) / 1_000_000 == 1_629)

        let texts = Self.texts(spans)
        for secret in ["You are MasterAgent", "To find the sum of the numbers 1 through 10", "Please calculate the sum"] {
            #expect(!texts.contains { $0.contains(secret) }, "no prompt, rationale or collaborator input: \(secret)")
        }
    }

    @Test("in debug mode the prompts, rationales and collaborator inputs are on the spans")
    func debugContent() throws {
        let (_, spans) = try Self.spans(ofRecording: "CAPMULTI", recordsContent: true)
        let texts = Self.texts(spans)
        for text in ["You are MasterAgent", "To find the sum of the numbers 1 through 10", "Please calculate the sum"] {
            #expect(texts.contains { $0.contains(text) }, "\(text)")
        }
    }

    @Test("a knowledge-base lookup is a retrieve span between its input and its observation, with its reference count")
    func knowledgeBase() throws {
        let (_, spans) = try Self.spans(ofRecording: "CAPKB")
        let lookup = try #require(spans.first { $0.operationName == "retrieve SSGLURQ9A5" })
        #expect(lookup.attributes["aws.bedrock.knowledge_base.id"]?.toSpanAttribute() == "SSGLURQ9A5")
        #expect(lookup.attributes["gen_ai.tool.type"]?.toSpanAttribute() == "datastore")
        guard case .int64(let references)? = lookup.attributes["aws.bedrock.knowledge_base.references"]?.toSpanAttribute() else {
            Issue.record("no reference count")
            return
        }
        #expect(references > 0)
        #expect((lookup.endInstant.nanosecondsSinceEpoch - lookup.startInstant.nanosecondsSinceEpoch) / 1_000_000 == 1_118)
        #expect(!Self.texts(spans).contains { $0.contains("What is task decomposition") })
    }

    @Test("guardrail assessments are spans with their action and Bedrock's timing")
    func guardrails() throws {
        let (root, spans) = try Self.spans(ofRecording: "CAPGUARD")
        let guardrails = spans.filter { $0.operationName == "guardrail" }
        #expect(guardrails.count > 2)
        #expect(
            guardrails.allSatisfy { $0.parentSpanID == root.spanID && $0.attributes["aws.bedrock.guardrail.action"]?.toSpanAttribute() == "NONE" }
        )
        let first = try #require(guardrails.min { $0.startInstant.nanosecondsSinceEpoch < $1.startInstant.nanosecondsSinceEpoch })
        #expect((first.endInstant.nanosecondsSinceEpoch - first.startInstant.nanosecondsSinceEpoch) / 1_000_000 == 314)
    }

    @Test("an action-group call, a failure, and steps left open by an answer that ended early")
    func toolsAndFailures() throws {
        let tracer = InMemoryTracer()
        let root = tracer.startSpan("attempt", context: .topLevel)
        let steps = AgentStepSpans(tracer: tracer, root: root.context, recordsContent: false)
        func event(_ time: String, _ trace: String) -> JSONValue {
            try! JSONDecoder().decode(
                JSONValue.self,
                from: Data(
                    #"{"agentId":"A1","callerChain":[{"agentAliasArn":"arn:aws:bedrock:us-east-1:1:agent-alias/A1/B1"}],"eventTime":"\#(time)","trace":\#(trace)}"#
                        .utf8
                )
            )
        }
        steps.record(
            event(
                "2025-01-01T00:00:00Z",
                #"{"orchestrationTrace":{"invocationInput":{"traceId":"t-0","invocationType":"ACTION_GROUP","actionGroupInvocationInput":{"actionGroupName":"weather","function":"get_weather","parameters":[{"name":"city","value":"Paris"}]}}}}"#
            )
        )
        steps.record(
            event(
                "2025-01-01T00:00:02.5Z",
                #"{"orchestrationTrace":{"observation":{"traceId":"t-0","type":"ACTION_GROUP","actionGroupInvocationOutput":{"text":"sunny"}}}}"#
            )
        )
        steps.record(event("2025-01-01T00:00:03Z", #"{"orchestrationTrace":{"rationale":{"traceId":"t-1","text":"thinking"}}}"#))
        steps.record(event("2025-01-01T00:00:04Z", #"{"failureTrace":{"traceId":"t-1","failureCode":500,"failureReason":"Lambda timed out"}}"#))
        steps.record(
            event(
                "2025-01-01T00:00:05Z",
                #"{"orchestrationTrace":{"invocationInput":{"traceId":"t-2","invocationType":"KNOWLEDGE_BASE","knowledgeBaseLookupInput":{"knowledgeBaseId":"KB1","text":"q"}}}}"#
            )
        )
        steps.finish(at: DefaultTracerClock.Timestamp(nanosecondsSinceEpoch: 1_735_689_606_000_000_000))
        root.end()
        let spans = tracer.finishedSpans
        let tool = try #require(spans.first { $0.operationName == "execute_tool get_weather" })
        #expect(tool.attributes["aws.bedrock.action_group.name"]?.toSpanAttribute() == "weather")
        #expect(tool.endInstant.nanosecondsSinceEpoch - tool.startInstant.nanosecondsSinceEpoch == 2_500_000_000)
        #expect(tool.attributes["gen_ai.tool.call.arguments"] == nil, "no tool input outside debug mode")
        let failure = try #require(spans.first { $0.operationName == "failure" })
        #expect(failure.status?.code == .error)
        #expect(failure.attributes["error.type"]?.toSpanAttribute() == "500")
        // The lookup never got its observation: ended with the answer, and says so.
        let lookup = try #require(spans.first { $0.operationName == "retrieve KB1" })
        #expect(lookup.attributes["aws.bedrock.observation"]?.toSpanAttribute() == "missing")
        #expect(lookup.endInstant.nanosecondsSinceEpoch == 1_735_689_606_000_000_000)
        #expect(tracer.activeSpans.isEmpty)
    }

    @Test("numbers an agent sends out of range (tokens, times, codes) are left out, not trapped on")
    func hostileNumbers() throws {
        let tracer = InMemoryTracer()
        let steps = AgentStepSpans(tracer: tracer, root: .topLevel, recordsContent: false)
        steps.record(
            tracePayload: ByteBuffer(
                string:
                    #"{"eventTime":"9999-12-31T23:59:59Z","trace":{"orchestrationTrace":{"modelInvocationOutput":{"traceId":"t","metadata":{"usage":{"inputTokens":1e300,"outputTokens":-5}}}}}}"#
            )
        )
        steps.record(tracePayload: ByteBuffer(string: #"{"trace":{"failureTrace":{"traceId":"t","failureCode":9.3e18,"failureReason":"x"}}}"#))
        steps.finish()
        let chat = try #require(tracer.finishedSpans.first { $0.operationName == "chat" })
        #expect(chat.attributes["gen_ai.usage.input_tokens"] == nil && chat.attributes["gen_ai.usage.output_tokens"] == nil)
        let failure = try #require(tracer.finishedSpans.first { $0.operationName == "failure" })
        #expect(failure.attributes["error.type"] == nil)
    }

    @Test("at most maxSpans spans a stream, however long the answer")
    func spanLimit() throws {
        let tracer = InMemoryTracer()
        let steps = AgentStepSpans(tracer: tracer, root: .topLevel, recordsContent: false)
        let payload = ByteBuffer(string: #"{"eventTime":"2025-01-01T00:00:00Z","trace":{"guardrailTrace":{"action":"NONE","traceId":"g"}}}"#)
        for _ in 0..<(AgentStepSpans.maxSpans + 50) {
            steps.record(tracePayload: payload)
        }
        steps.record(tracePayload: ByteBuffer(string: "not json"))
        steps.finish()
        #expect(tracer.finishedSpans.count == AgentStepSpans.maxSpans)
    }

    @Test("calls that never get their observation count against the limit too")
    func pendingLimit() throws {
        let tracer = InMemoryTracer()
        let steps = AgentStepSpans(tracer: tracer, root: .topLevel, recordsContent: false)
        for index in 0..<(AgentStepSpans.maxSpans * 2) {
            steps.record(
                tracePayload: ByteBuffer(
                    string:
                        #"{"trace":{"orchestrationTrace":{"invocationInput":{"traceId":"t-\#(index)","knowledgeBaseLookupInput":{"knowledgeBaseId":"KB"}}}}}"#
                )
            )
        }
        steps.finish()
        // Each event opened a step and left a call waiting: half the limit each.
        #expect(tracer.finishedSpans.count == AgentStepSpans.maxSpans)
        #expect(tracer.activeSpans.isEmpty)
    }
}

@Suite("Tracing: timestamps and settings")
struct TracingSettingsTests {
    @Test(
        "Bedrock's RFC 3339 instants, to the nanosecond",
        arguments: [
            ("1970-01-01T00:00:00Z", UInt64(0)),
            ("2025-05-21T09:49:03.611478316Z", 1_747_820_943_611_478_316),
            ("2025-05-21T09:49:03.6Z", 1_747_820_943_600_000_000),
            ("2024-02-29T23:59:59.999999999999Z", 1_709_251_199_999_999_999),
            ("2025-05-21T11:49:03+02:00", 1_747_820_943_000_000_000),
        ]
    )
    func timestamps(text: String, nanoseconds: UInt64) {
        #expect(TraceTimestamp.parse(text)?.nanosecondsSinceEpoch == nanoseconds)
    }

    @Test(
        "anything else is no instant",
        arguments: [
            "", "2025-05-21", "2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-05-21T09:49:03", "2025-05-21T09:49:03.Z", "1969-12-31T23:59:59Z",
            "2025-05-21T09:49:03Zjunk", "２０２５-05-21T09:49:03Z",
        ]
    )
    func notTimestamps(text: String) {
        #expect(TraceTimestamp.parse(text) == nil)
    }

    func tracing(_ variables: [String: String]) throws(ConfigurationError) -> TracingConfiguration {
        try ServiceConfiguration(environment: variables.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { a, _ in a }, homeDirectory: nil).tracing
    }

    @Test("on only with an endpoint, and neither disabled nor exporting to none")
    func enabled() throws {
        #expect(try !self.tracing([:]).enabled)
        #expect(try !self.tracing(["OTEL_SERVICE_NAME": "x"]).enabled)
        #expect(try !self.tracing(["OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_TRACES_SAMPLER": " "]).enabled, "empty is unset")
        let trimmed = try self.tracing([
            "OTEL_EXPORTER_OTLP_ENDPOINT": " http://c:4318 ", "OTEL_TRACES_SAMPLER": "traceidratio ", "OTEL_SERVICE_NAME": "",
        ])
        #expect(trimmed.environment == ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "traceidratio"])
        #expect(try self.tracing(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"]).enabled)
        #expect(try self.tracing(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector/v1/traces"]).enabled)
        #expect(try !self.tracing(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"]).enabled)
        #expect(try !self.tracing(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"]).enabled)
    }

    @Test(
        "a value swift-otel would only warn about stops start-up, naming the variable",
        arguments: [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://collector"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http"),
            ("OTEL_TRACES_SAMPLER", "xray"),
            ("OTEL_TRACES_SAMPLER_ARG", "-0.1"),
            ("OTEL_TRACES_SAMPLER_ARG", "half"),
            ("OTEL_TRACES_EXPORTER", "jaeger"),
            ("OTEL_SDK_DISABLED", "maybe"),
            ("OTEL_RESOURCE_ATTRIBUTES", "team"),
            ("OTEL_PROPAGATORS", "tracecontext,baggage"),
            ("OTEL_PROPAGATORS", "xray"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "Authorization"),
            ("OTEL_BSP_SCHEDULE_DELAY", "soon"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "-1"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
        ]
    )
    func invalid(name: String, value: String) {
        var variables = ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"]
        variables[name] = value
        do {
            _ = try self.tracing(variables)
            Issue.record("\(name)=\(value) was accepted")
        } catch {
            #expect(error.source == name)
        }
    }
}
