import CFFmpeg
import Core

/// A libavfilter video graph with one input and one output, e.g. FFmpeg's `minterpolate`.
/// Push frames (pts in `timeBase`), then pull what the graph produced.
public final class FilterGraph {
    private var graph: UnsafeMutablePointer<AVFilterGraph>?
    private let source: UnsafeMutablePointer<AVFilterContext>
    private let sink: UnsafeMutablePointer<AVFilterContext>
    private let width: Int, height: Int
    private let format: AVPixelFormat
    public let outputTimeBase: Rational

    public init(filters: String, width: Int, height: Int, pixelFormat: String, timeBase: Rational, threads: Int = 0) throws {
        _ = LibavRuntime.configured
        self.width = width
        self.height = height
        format = try PixelFormat.lookup(pixelFormat)
        guard let g = avfilter_graph_alloc() else { throw MediaError.libav("allocate filter graph", code: reframe_averror_enomem()) }
        graph = g
        g.pointee.nb_threads = Int32(threads)
        var src: UnsafeMutablePointer<AVFilterContext>?
        var snk: UnsafeMutablePointer<AVFilterContext>?
        let args = "video_size=\(width)x\(height):pix_fmt=\(format.rawValue):time_base=\(timeBase.num)/\(timeBase.den):pixel_aspect=1/1"
        do {
            try check(avfilter_graph_create_filter(&src, avfilter_get_by_name("buffer"), "in", args, nil, g), "buffer source")
            try check(avfilter_graph_create_filter(&snk, avfilter_get_by_name("buffersink"), "out", nil, nil, g), "buffer sink")
            guard let src, let snk else { throw MediaError.unsupported("filter endpoints") }
            source = src
            sink = snk
            try linkFilterChain(g, source: src, sink: snk, filters: filters + ",format=pix_fmts=\(pixelFormat)", what: "filters '\(filters)'")
            outputTimeBase = av_buffersink_get_time_base(snk).rational ?? timeBase
        } catch {
            avfilter_graph_free(&graph)
            throw error
        }
    }

    deinit { avfilter_graph_free(&graph) }

    /// Feeds one frame (copied by the graph).
    public func push(_ frame: VideoFrame) throws {
        guard frame.width == width, frame.height == height else { throw MediaError.invalidData("frame size differs from the graph's") }
        guard let avFrame = av_frame_alloc() else { throw MediaError.libav("allocate", code: reframe_averror_enomem()) }
        var f: UnsafeMutablePointer<AVFrame>? = avFrame
        defer { av_frame_free(&f) }
        try frame.data.withUnsafeBufferPointer { buffer in
            try PixelFormat.fill(avFrame, from: buffer.baseAddress!, width: width, height: height, format: format)
            avFrame.pointee.pts = frame.pts
            // KEEP_REF off: the graph copies a non-refcounted frame before we release the buffer.
            try check(av_buffersrc_write_frame(source, avFrame), "push frame")
        }
    }

    /// Signals the end of input so the graph emits what it still holds.
    public func finish() throws {
        try check(av_buffersrc_add_frame(source, nil), "end of input")
    }

    /// Returns every frame available now (pts in `outputTimeBase`).
    public func pull() throws -> [VideoFrame] {
        try drain { frame in
            VideoFrame(width: Int(frame.pointee.width), height: Int(frame.pointee.height),
                       pixelFormat: PixelFormat.name(AVPixelFormat(rawValue: frame.pointee.format)),
                       data: try PixelFormat.copy(frame), pts: frame.pointee.pts)
        }
    }

    /// Takes every frame the sink holds now, each read by `body` before it is released.
    func drain<T>(_ body: (UnsafeMutablePointer<AVFrame>) throws -> T) throws -> [T] {
        var out: [T] = []
        guard let avFrame = av_frame_alloc() else { throw MediaError.libav("allocate", code: reframe_averror_enomem()) }
        var f: UnsafeMutablePointer<AVFrame>? = avFrame
        defer { av_frame_free(&f) }
        while true {
            let status = av_buffersink_get_frame(sink, avFrame)
            if status == averrorEAGAIN || status == averrorEOF { return out }
            try check(status, "pull frame")
            defer { av_frame_unref(avFrame) }
            out.append(try body(avFrame))
        }
    }
}

extension FilterGraph {
    /// Pulls every frame available now and returns only the metadata the filters attached to each
    /// (an analysis filter's findings, e.g. idet's `lavfi.idet.*`), without copying pixels.
    public func pullMetadata() throws -> [[String: String]] {
        try drain { frame in
            var entries: [String: String] = [:]
            var entry: UnsafeMutablePointer<AVDictionaryEntry>?
            while let e = av_dict_get(frame.pointee.metadata, "", entry, AV_DICT_IGNORE_SUFFIX) {
                entries[String(cString: e.pointee.key)] = String(cString: e.pointee.value)
                entry = e
            }
            return entries
        }
    }
}

/// Joins a graph's buffer source ("in") and sink ("out") through a filter chain description and
/// configures the graph: the set-up the video and audio graphs share.
func linkFilterChain(_ graph: UnsafeMutablePointer<AVFilterGraph>, source: UnsafeMutablePointer<AVFilterContext>,
                     sink: UnsafeMutablePointer<AVFilterContext>, filters: String, what: String) throws {
    var outputs = avfilter_inout_alloc()
    var inputs = avfilter_inout_alloc()
    defer { avfilter_inout_free(&outputs); avfilter_inout_free(&inputs) }
    guard let out = outputs, let into = inputs else { throw MediaError.libav("allocate filter links", code: reframe_averror_enomem()) }
    out.pointee.name = av_strdup("in")
    out.pointee.filter_ctx = source
    out.pointee.pad_idx = 0
    out.pointee.next = nil
    into.pointee.name = av_strdup("out")
    into.pointee.filter_ctx = sink
    into.pointee.pad_idx = 0
    into.pointee.next = nil
    try check(avfilter_graph_parse_ptr(graph, filters, &inputs, &outputs, nil), "parse \(what)")
    try check(avfilter_graph_config(graph, nil), "configure \(what)")
}
