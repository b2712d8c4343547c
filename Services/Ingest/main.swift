import Observability
import Pipeline

// Ingest: validates specs from reframe.ingest, probes, plans and fans out extract messages.
await ServiceMain.run(IngestHandler(), peers: MetricsEndpoint.peers)
