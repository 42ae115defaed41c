import NIOCore

extension ByteBuffer {
    /// The unread bytes of a buffer a reader stopped in the middle of (an incomplete record or
    /// frame), to be kept until more arrive. A buffer not much larger than its unread bytes is
    /// kept and appended to, so a large message arriving in small reads is not copied per read;
    /// a larger one (typically the transport's read buffer) is replaced by a copy of just the
    /// unread bytes, so an idle connection does not hold it.
    public mutating func keptRemainder(allocator: ByteBufferAllocator) -> ByteBuffer {
        if capacity <= Swift.max(1024, 2 * readableBytes) {
            if readerIndex > 0 { discardReadBytes() }
            return self
        }
        var rest = allocator.buffer(capacity: readableBytes)
        rest.writeBuffer(&self)
        return rest
    }
}
