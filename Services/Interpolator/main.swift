import Observability
import Pipeline

// Interpolator: one chunk per message, in-betweens through the plan's interpolation model.
await ServiceMain.run(InterpolateHandler(), peers: MetricsEndpoint.peers)
