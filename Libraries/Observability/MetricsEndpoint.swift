import Hummingbird
import Logging
import Pipeline
import ServiceLifecycle

/// A service's HTTP side for operators, on `REFRAME_METRICS_HOST:REFRAME_METRICS_PORT`:
/// `GET /metrics` (Prometheus text format), `GET /healthz` (the process answers: 200) and
/// `GET /readyz` (200 while the broker connections are up and the store answers, else 503 with
/// the reason). It runs as a peer in the workers' ServiceGroup, so it shuts down with them (last:
/// probes and scrapes still answer while the workers drain).
public enum MetricsEndpoint {
    /// For `ServiceMain.run(…, peers:)`: the endpoint, or nothing when the port is 0.
    public static let peers: ServiceMain.Peers = { context, config in
        guard config.metricsPort != 0 else { return [] }
        return [application(readiness: ServiceReadiness(context: context), host: config.metricsHost, port: config.metricsPort,
                            logger: context.logger)]
    }

    public static func application(readiness: ServiceReadiness, host: String, port: Int, logger: Logger) -> some Service {
        let router = Router()
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            switch await readiness.check() {
            case .ready: return text(.ok, "ready\n")
            case .notReady(let reason): return text(.serviceUnavailable, "not ready: \(reason)\n")
            }
        }
        router.get("metrics") { _, _ -> Response in
            // The gauge comes from the store; a scrape still answers when the store does not.
            if case .success(let bytes) = await readiness.storeInFlightBytes() { ServiceMetrics.inFlightBytes.record(bytes) }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: ServiceMetrics.render())))
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)  // no line per scrape or probe
        return Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: quiet)
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
