import API
import Observability
import Pipeline

// Ingest: validates specs from reframe.ingest and from the HTTP API (POST /v1/jobs), probes, plans
// and fans out extract messages. The HTTP API and the metrics endpoint share the workers' lifecycle.
await ServiceMain.run(IngestHandler(), peers: { context, config in
    try MetricsEndpoint.peers(context, config)
        + [try APIServer.make(context: context, configuration: try APIConfiguration.fromEnvironment(service: config), logger: context.logger),
           SubmissionRecovery(context: context, age: config.submitRecoverySeconds)]
})
