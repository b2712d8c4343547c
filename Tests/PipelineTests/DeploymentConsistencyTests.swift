import Foundation
import Messaging
import Pipeline
import XCTest
import Yams

/// compose/ and compose/k8s must say what the code does: the queues it declares, the variables
/// ServiceConfiguration knows, the ports the services listen on. (Their schemas are checked by
/// scripts/deploy-checks.sh.)
final class DeploymentConsistencyTests: XCTestCase {
    /// Each service and the work queues it consumes (DESIGN.md §3).
    static let consumedQueues = ["ingest": ["ingest"], "extractor": ["extract"], "upscaler": ["upscale"],
                                 "interpolator": ["interpolate"], "assembler": ["encode", "finalize"]]
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func text(_ path: String) throws -> String { try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8) }
    func yaml(_ path: String) throws -> [String: Any] { try XCTUnwrap(try Yams.load(yaml: text(path)) as? [String: Any], path) }
    func manifests() throws -> [[String: Any]] {
        let folder = Self.root.appendingPathComponent("compose/k8s")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        return try files.flatMap { file in
            try Yams.load_all(yaml: text("compose/k8s/\(file)")).compactMap { $0 as? [String: Any] }
        }
    }
    func composeServices() throws -> [String: [String: Any]] {
        try XCTUnwrap(try yaml("compose/docker-compose.yml")["services"] as? [String: [String: Any]])
    }
    /// A compose service's environment, with the shared block merged in (YAML `<<`).
    func environment(_ service: [String: Any]) -> [String: String] {
        (service["environment"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
    }
    func port(ofURL url: String) -> Int? { URLComponents(string: url)?.port }

    func testEveryVariableTheFilesSetIsOneTheServicesRead() throws {
        let known = Set(ServiceConfiguration.Variable.allCases.map(\.rawValue))
        let pattern = try NSRegularExpression(pattern: "REFRAME_[A-Z0-9_]+")
        var seen = Set<String>()
        for path in ["compose/docker-compose.yml", "Dockerfile"] + (try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("compose/k8s").path)
                                                                        .filter { $0.hasSuffix(".yaml") }.map { "compose/k8s/\($0)" }) {
            let body = try text(path)
            for match in pattern.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
                let name = String(body[Range(match.range, in: body)!])
                seen.insert(name)
                XCTAssertTrue(known.contains(name), "\(path) sets \(name), which no service reads")
            }
        }
        // The files really were read: the variables every service needs are there.
        XCTAssertTrue(seen.isSuperset(of: ["REFRAME_AMQP_URL", "REFRAME_REDIS_URL", "REFRAME_MEDIA_ROOT", "REFRAME_METRICS_PORT", "REFRAME_HTTP_PORT"]), "\(seen)")
    }

    func testComposeRunsEveryStageWithReplicasAndTheCodesDefaults() throws {
        let services = try composeServices()
        let defaults = ServiceConfiguration()
        let definitions = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text("compose/definitions.json").utf8)) as? [String: Any])
        let definedLimit = try XCTUnwrap(((definitions["queues"] as? [[String: Any]])?.first?["arguments"] as? [String: Any])?["x-delivery-limit"] as? Int)
        for name in Self.consumedQueues.keys {
            let service = try XCTUnwrap(services[name], "compose has no \(name)")
            let env = environment(service)
            XCTAssertGreaterThanOrEqual((service["deploy"] as? [String: Any])?["replicas"] as? Int ?? 0, 1, "\(name) has no deploy.replicas")
            XCTAssertEqual(port(ofURL: env["REFRAME_AMQP_URL"] ?? ""), port(ofURL: defaults.amqpURL), name)
            XCTAssertEqual(port(ofURL: env["REFRAME_REDIS_URL"] ?? ""), port(ofURL: defaults.redisURL), name)
            XCTAssertEqual(env["REFRAME_QUEUE_PREFIX"], QueueNames().prefix, "definitions.json is written for the default prefix")
            // definitions.json must declare what a service started with this limit declares.
            let limit = try XCTUnwrap(Int(env["REFRAME_DELIVERY_LIMIT"] ?? ""), name)
            XCTAssertEqual(RabbitBus.topology(QueueNames(), deliveryLimit: limit).queues.first?.xDeliveryLimit, definedLimit, name)
            XCTAssertNoThrow(try ServiceConfiguration.fromEnvironment(env.merging(["REFRAME_MEDIA_ROOT": NSTemporaryDirectory()]) { $1 }),
                             "\(name)'s environment is refused")
        }
        let ingest = environment(try XCTUnwrap(services["ingest"]))
        XCTAssertEqual(Int(ingest["REFRAME_HTTP_PORT"] ?? ""), ServiceConfiguration.defaultHTTPPort)
        XCTAssertEqual(services["ingest"]?["ports"] as? [String], ["\(ServiceConfiguration.defaultHTTPPort):\(ServiceConfiguration.defaultHTTPPort)"])
    }

    func testPrometheusAndHealthchecksUseEachServicesMetricsPort() throws {
        let services = try composeServices()
        let scrapes = try XCTUnwrap(try yaml("compose/prometheus.yml")["scrape_configs"] as? [[String: Any]])
        var ports = Set<Int>()
        for name in Self.consumedQueues.keys {
            let service = try XCTUnwrap(services[name])
            let metrics = try XCTUnwrap(Int(environment(service)["REFRAME_METRICS_PORT"] ?? ""), "\(name) has no metrics port")
            ports.insert(metrics)
            let scrape = try XCTUnwrap(scrapes.first { $0["job_name"] as? String == name }, "Prometheus does not scrape \(name)")
            let discovery = try XCTUnwrap((scrape["dns_sd_configs"] as? [[String: Any]])?.first)
            XCTAssertEqual(discovery["port"] as? Int, metrics, name)
            XCTAssertEqual(discovery["names"] as? [String], [name])
            let check = ((service["healthcheck"] as? [String: Any])?["test"] as? [String])?.last ?? ""
            XCTAssertEqual(check, "http://127.0.0.1:\(metrics)/readyz", name)
        }
        XCTAssertEqual(ports.count, Self.consumedQueues.count, "two services share a metrics port")
    }

    func testKubernetesDeploymentsMatchComposeAndScaleOnTheQueuesTheyConsume() throws {
        let all = try manifests()
        let services = try composeServices()
        let declared = Set(RabbitBus.topology(QueueNames(), deliveryLimit: 5).queues.map(\.name))
        for (name, queues) in Self.consumedQueues {
            let deployment = try XCTUnwrap(all.first { $0["kind"] as? String == "Deployment" && ($0["metadata"] as? [String: Any])?["name"] as? String == "reframe-\(name)" },
                                           "no Deployment for \(name)")
            let pod = try XCTUnwrap(((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
            let container = try XCTUnwrap((pod["containers"] as? [[String: Any]])?.first)
            let env = Dictionary(uniqueKeysWithValues: (container["env"] as? [[String: Any]] ?? []).map { ("\($0["name"]!)", "\($0["value"]!)") })
            let metrics = try XCTUnwrap(Int(env["REFRAME_METRICS_PORT"] ?? ""), name)
            XCTAssertEqual("\(metrics)", environment(try XCTUnwrap(services[name]))["REFRAME_METRICS_PORT"], "\(name): k8s and compose differ")
            let containerPorts = Dictionary(uniqueKeysWithValues: (container["ports"] as? [[String: Any]] ?? []).map { ("\($0["name"]!)", $0["containerPort"] as? Int) })
            XCTAssertEqual(containerPorts["metrics"], metrics, name)
            for probe in ["livenessProbe", "readinessProbe"] {
                let get = try XCTUnwrap((container[probe] as? [String: Any])?["httpGet"] as? [String: Any], "\(name) has no \(probe)")
                XCTAssertEqual(get["port"] as? String, "metrics", name)
                XCTAssertEqual(get["path"] as? String, probe == "livenessProbe" ? "/healthz" : "/readyz", name)
            }
            XCTAssertNotNil((container["resources"] as? [String: Any])?["requests"], "\(name) has no resource requests")
            if name == "ingest" {
                XCTAssertEqual(Int(env["REFRAME_HTTP_PORT"] ?? ""), ServiceConfiguration.defaultHTTPPort)
                XCTAssertEqual(containerPorts["http"], ServiceConfiguration.defaultHTTPPort)
            }

            let scaler = try XCTUnwrap(all.first { $0["kind"] as? String == "ScaledObject" && ($0["metadata"] as? [String: Any])?["name"] as? String == "reframe-\(name)" },
                                       "no ScaledObject for \(name)")
            let spec = try XCTUnwrap(scaler["spec"] as? [String: Any])
            XCTAssertEqual((spec["scaleTargetRef"] as? [String: Any])?["name"] as? String, "reframe-\(name)")
            // Workers scale to zero; the Ingest serves HTTP and so keeps one.
            XCTAssertEqual(spec["minReplicaCount"] as? Int, name == "ingest" ? 1 : 0, name)
            let triggers = try XCTUnwrap(spec["triggers"] as? [[String: Any]])
            let scaledQueues = triggers.compactMap { ($0["metadata"] as? [String: Any])?["queueName"] as? String }
            XCTAssertEqual(scaledQueues, queues.map(QueueNames().queue), name)
            for queue in scaledQueues { XCTAssertTrue(declared.contains(queue), "\(queue) is no queue the code declares") }
            for trigger in triggers {
                XCTAssertEqual(trigger["type"] as? String, "rabbitmq")
                XCTAssertEqual((trigger["metadata"] as? [String: Any])?["mode"] as? String, "QueueLength")
                let auth = (trigger["authenticationRef"] as? [String: Any])?["name"] as? String
                XCTAssertTrue(all.contains { $0["kind"] as? String == "TriggerAuthentication" && ($0["metadata"] as? [String: Any])?["name"] as? String == auth },
                              "\(name) names TriggerAuthentication \(auth ?? "none"), which is not there")
            }
        }
        let ingestService = try XCTUnwrap(all.first { $0["kind"] as? String == "Service" })
        let servicePort = try XCTUnwrap(((ingestService["spec"] as? [String: Any])?["ports"] as? [[String: Any]])?.first)
        XCTAssertEqual(servicePort["targetPort"] as? String, "http")
    }

    func testTheConfigMapIsAnEnvironmentTheServicesAccept() throws {
        let config = try XCTUnwrap(try manifests().first { $0["kind"] as? String == "ConfigMap" })
        let data = try XCTUnwrap(config["data"] as? [String: Any]).mapValues { "\($0)" }
        XCTAssertEqual(data["REFRAME_QUEUE_PREFIX"], QueueNames().prefix)
        XCTAssertNoThrow(try ServiceConfiguration.fromEnvironment(data.merging(["REFRAME_MEDIA_ROOT": NSTemporaryDirectory()]) { $1 }))
    }
}
