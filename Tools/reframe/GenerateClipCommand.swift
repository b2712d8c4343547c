import ArgumentParser
import Media

/// `reframe generate-clip OUT`: writes a synthetic test clip (moving pattern + tone) with libav.
struct GenerateClip: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate-clip", abstract: "Write a synthetic test clip (H.264 pattern, AAC tone).")
    @Argument(help: "Output .mp4/.mkv path.") var output: String
    @Option(help: "Width.") var width = 320
    @Option(help: "Height.") var height = 240
    @Option(help: "Nominal frame rate.") var fps = 30
    @Option(help: "Number of frames.") var frames = 300
    @Option(help: "Frames between keyframes.") var gop = 30
    @Flag(help: "Variable frame rate (intervals of 1, 2, 3 periods).") var vfr = false
    @Flag(help: "No audio track.") var noAudio = false

    func run() throws {
        var o = SyntheticClip.Options()
        o.width = width
        o.height = height
        o.fps = fps
        o.frames = frames
        o.keyframeInterval = gop
        o.variableRate = vfr
        o.audio = !noAudio
        try SyntheticClip.write(path: output, options: o)
        print(output)
    }
}
