import Observability
import Pipeline

// Extractor: decodes one segment per message into chunks in Redis.
await ServiceMain.run(ExtractHandler(), peers: MetricsEndpoint.peers)
