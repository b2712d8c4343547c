import Foundation
import Observability
import Pipeline

// Assembler: encodes chunks (reframe.encode) and, once per job, joins them (reframe.finalize).
// Set REFRAME_ASSEMBLER_ROLE=encode or finalize to run one half only; both by default.
await ServiceMain.runAssembler(role: ProcessInfo.processInfo.environment[.assemblerRole], peers: MetricsEndpoint.peers)
