import API
import Pipeline

// Ingest: validates specs from reframe.ingest and from the HTTP API (POST /v1/jobs), probes, plans
// and fans out extract messages. The HTTP server shares the workers' lifecycle and shutdown.
await ServiceMain.run(IngestHandler(), peers: { context, config in
    [try APIServer.make(context: context, configuration: try APIConfiguration.fromEnvironment(service: config), logger: context.logger)]
})
