import Core
import Foundation
import Media
import Messaging
import Pipeline

/// A delivery of `message` as a stage worker receives it, first try, whose settlement is ignored.
public func testDelivery(_ message: StageMessage) throws -> BusDelivery {
    BusDelivery(body: Array(try message.encoded()), queue: "q", previousDeliveries: 0, headers: [:]) { _ in }
}

/// Stages run by hand, without workers, for tests of one step in isolation.
public enum HandDriven {
    /// An upscale ×2 job of a 40-frame clip written to `dir/in.mp4` (keyframe every 10 frames), run
    /// through ingest, extraction and upscaling: returns its encode messages.
    public static func encodeMessages(_ context: StageContext, id: String, dir: String,
                                      size: (width: Int, height: Int) = (320, 240)) async throws -> [StageMessage] {
        var o = SyntheticClip.Options()
        (o.width, o.height) = size
        o.frames = 40
        o.keyframeInterval = 10
        try SyntheticClip.write(path: "\(dir)/in.mp4", options: o)
        let spec = JobSpec(source: "in.mp4", output: "out.mp4", upscale: UpscaleSpec(factor: 2))
        let ingest = BusDelivery(body: Array(try JSONEncoder().encode(spec)), queue: "q", previousDeliveries: 0,
                                 headers: [IngestHandler.jobIdHeader: id]) { _ in }
        var encode: [StageMessage] = []
        for extract in try await IngestHandler().process(ingest, context: context).next {
            for up in try await ExtractHandler().process(try testDelivery(extract), context: context).next {
                encode += try await UpscaleHandler().process(try testDelivery(up), context: context).next
            }
        }
        return encode
    }
}
