import Observability
import Pipeline

// Upscaler: one chunk per message through the plan's upscaling model.
await ServiceMain.run(UpscaleHandler(), peers: MetricsEndpoint.peers)
