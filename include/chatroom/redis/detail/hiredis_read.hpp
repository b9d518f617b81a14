#pragma once

// A hiredis context's socket read straight into its reader's buffer.
//
// hiredis 0.14's redisAsyncHandleRead reads at most 16 KiB into a buffer on
// the stack and copies it into the reader's (redisBufferRead, then
// redisReaderFeed's sdscatlen): every byte a node reads back is copied once
// more than needed. read_ready does the same read into the reader's buffer
// itself, up to read_chunk bytes at once, then lets hiredis parse and
// dispatch as after its own read (redisProcessCallbacks). Anything but
// bytes read (end of stream, an error, a context not yet connected or
// already failed) goes to redisAsyncHandleRead as before, which reads again
// and meets the same end or error: the fault paths stay hiredis' own.
// Only with hiredis 0.x on ELF systems, whose layout and symbols this
// relies on; elsewhere hiredis keeps its own path. The buffer holds what is
// not yet parsed, as hiredis' own does, plus room for one read (sds doubles
// its room up to 1 MiB); hiredis drops the part it has parsed as it goes.

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <unistd.h>

#include <cerrno>
#include <cstddef>

#if HIREDIS_MAJOR == 0 && defined(__ELF__)
#define CHATROOM_HIREDIS_DIRECT_READ 1
// hiredis 0.14 exports redisProcessCallbacks (async.c) without declaring
// it, and declares sds.h's functions without C linkage: named here by
// their symbols.
extern "C" void redisProcessCallbacks(redisAsyncContext* ac);
extern "C" char* chatroom_sds_make_room_for(char* s, std::size_t add) __asm__("sdsMakeRoomFor");
extern "C" void chatroom_sds_incr_len(char* s, int incr) __asm__("sdsIncrLen");
#endif

namespace chatroom::detail {

constexpr std::size_t read_chunk = 64 * 1024;

inline void read_ready(redisAsyncContext* ac) {
#ifndef CHATROOM_HIREDIS_DIRECT_READ
    // Later hiredis reads through its own functions (TLS among them): its path.
    return redisAsyncHandleRead(ac);
#else
    redisContext* c = &ac->c;
    redisReader* r = c->reader;
    if (!(c->flags & REDIS_CONNECTED) || c->err || !r || r->err) return redisAsyncHandleRead(ac);
    sds buf = chatroom_sds_make_room_for(r->buf, read_chunk);
    if (!buf) return redisAsyncHandleRead(ac); // out of memory: hiredis' path reports it
    r->buf = buf;
    const std::size_t room = sdsavail(buf);
    const ssize_t n = ::read(c->fd, buf + sdslen(buf), room < read_chunk * 2 ? room : read_chunk * 2);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (ac->ev.addRead) ac->ev.addRead(ac->ev.data);
        return;
    }
    if (n <= 0) return redisAsyncHandleRead(ac); // end of stream or an error: hiredis fails the context
    chatroom_sds_incr_len(buf, static_cast<int>(n));
    r->len = sdslen(buf);
    if (ac->ev.addRead) ac->ev.addRead(ac->ev.data); // as hiredis: reads stay wanted
    redisProcessCallbacks(ac);
#endif
}

} // namespace chatroom::detail
