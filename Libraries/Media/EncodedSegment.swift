import Core
import Foundation

/// The packets of one encoded chunk plus what the muxer needs to describe the stream.
/// Serialised as: 4-byte big-endian header length, JSON header, then the packets' bytes back to back.
public struct EncodedSegment: Sendable, Equatable {
    public struct Header: Codable, Sendable, Equatable {
        public var codec: String
        public var width: Int
        public var height: Int
        public var pixelFormat: String
        public var timeBase: Rational
        public var frameRate: Rational
        public var sampleAspectRatio: Rational
        public var extradata: Data
        public var packets: [PacketInfo]
    }

    public struct PacketInfo: Codable, Sendable, Equatable {
        public var pts: Int64
        public var dts: Int64
        public var duration: Int64
        public var key: Bool
        public var size: Int
    }

    public var header: Header
    public var payload: [UInt8]

    public var frameCount: Int { header.packets.count }

    public func serialized() throws -> [UInt8] {
        let json = try JSONEncoder().encode(header)
        var out = [UInt8]()
        out.reserveCapacity(4 + json.count + payload.count)
        let n = UInt32(json.count)
        out.append(contentsOf: [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)])
        out.append(contentsOf: json)
        out.append(contentsOf: payload)
        return out
    }

    public init(header: Header, payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }

    public init(serialized bytes: [UInt8]) throws {
        guard bytes.count >= 4 else { throw MediaError.invalidData("encoded segment shorter than its header") }
        let n = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard bytes.count >= 4 + n else { throw MediaError.invalidData("encoded segment header truncated") }
        do { header = try JSONDecoder().decode(Header.self, from: Data(bytes[4..<(4 + n)])) } catch {
            throw MediaError.invalidData("encoded segment header: \(error)")
        }
        payload = Array(bytes[(4 + n)...])
        guard header.packets.reduce(0, { $0 + $1.size }) == payload.count else {
            throw MediaError.invalidData("encoded segment payload is \(payload.count) bytes, header lists \(header.packets.reduce(0) { $0 + $1.size })")
        }
    }
}
