import Foundation
import Hummingbird
import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
import Pipeline
import ServiceLifecycle

/// The HTTP job API as a `Service`, to run in a stage service's group (`ServiceMain.run(peers:)`).
public enum APIServer {
    public static func make(context: StageContext, configuration: APIConfiguration, logger: Logger) throws -> any Service {
        if configuration.tokens.entries.isEmpty {
            logger.warning("no API tokens configured (REFRAME_API_TOKENS): every /v1 request will be refused")
        }
        let router = Router()
        let middlewares: [any ServerMiddleware] = [
            RawHeaderMiddleware(),
            ProblemMiddleware(logger: logger),
            AuthMiddleware(tokens: configuration.tokens, limiter: RateLimiter()),
            BodyLimitMiddleware(maxBytes: configuration.maxBodyBytes, streamed: [UploadWriter.operationID: configuration.maxUploadBytes]),
        ]
        let operations = OperationTable(router)
        try JobAPI(context: context).registerHandlers(on: operations, middlewares: middlewares)
        router.add(middleware: UnroutedMiddleware(routes: operations.routes))
        return Application(router: router, configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
                           logger: logger)
    }
}
