// chatroom-floor: the least work a correct relay of chat lines can do, as a
// floor to compare chatroom-server's CPU per delivery with (bench/run's
// `floor` peer). Plain epoll, one thread, one room, no commands, no
// sanitizing. It frames lines exactly as chatroom does ("<guest-N> text\r\n"),
// so the bytes per delivery match. One read takes many lines; their framed
// copy is built once per read and shared by reference (refcounted) by every
// recipient's queue; every recipient gets one writev per loop turn; a client
// whose queue passes --max-queue bytes is dropped, so memory stays bounded.
//
//   chatroom-floor PORT [--bind ADDR] [--max-queue BYTES]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace {

// Shared framed lines. The count is a plain integer: one thread owns every block.
struct Block {
    std::string bytes;
    unsigned refs = 0;
};
void release(Block* b) {
    if (--b->refs == 0) delete b;
}

struct Piece {
    Block* block;
    std::size_t off;
};

struct Client {
    int fd = -1;
    std::string prefix;  // "<guest-N> "
    std::string partial; // an unfinished line carried to the next read
    std::deque<Piece> queue;  // unsent pieces, the first one maybe partly sent
    std::size_t queued = 0;   // unsent bytes
    bool dirty = false, want_out = false, dead = false;
};

constexpr std::size_t kReadSize = 64 * 1024;
constexpr std::size_t kMaxLine = 4096;  // chatroom's default --max-line

int ep = -1;
std::size_t max_queue = 4u << 20;  // chatroom's default --max-queue
std::vector<std::unique_ptr<Client>> by_fd;
std::vector<Client*> members, dirty, dead;

void kill_client(Client& c) {
    if (!c.dead) { c.dead = true; dead.push_back(&c); }
}

void push(Client& c, Block* b) {
    if (c.dead) return;
    if (c.queued + b->bytes.size() > max_queue) {  // too slow: drop it, nobody waits
        kill_client(c);
        return;
    }
    ++b->refs;
    c.queue.push_back({b, 0});
    c.queued += b->bytes.size();
    if (!c.dirty) { c.dirty = true; dirty.push_back(&c); }
}

void on_readable(Client& c) {
    char buf[kReadSize];
    const ssize_t n = ::read(c.fd, buf, sizeof buf);  // one read per turn: fair to everyone
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) kill_client(c);
        return;
    }
    auto* b = new Block;
    b->refs = 1;  // held while fanning out
    b->bytes.reserve(static_cast<std::size_t>(n) + 64);
    const char* p = buf;
    const char* const end = buf + n;
    while (const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))) {
        std::size_t len = static_cast<std::size_t>(nl - p);
        const char* line = p;
        if (!c.partial.empty()) {
            c.partial.append(p, len);
            line = c.partial.data();
            len = c.partial.size();
        }
        if (len && line[len - 1] == '\r') --len;
        if (len) {
            b->bytes += c.prefix;
            b->bytes.append(line, len);
            b->bytes += "\r\n";
        }
        c.partial.clear();
        p = nl + 1;
    }
    c.partial.append(p, static_cast<std::size_t>(end - p));
    if (c.partial.size() > kMaxLine) kill_client(c);
    if (!b->bytes.empty())
        for (Client* m : members)
            if (m != &c) push(*m, b);
    release(b);
}

void flush(Client& c) {
    c.dirty = false;
    if (c.dead) return;
    for (;;) {
        iovec iov[IOV_MAX];
        int k = 0;
        std::size_t offered = 0;
        for (auto it = c.queue.begin(); it != c.queue.end() && k < IOV_MAX; ++it, ++k) {
            iov[k] = {const_cast<char*>(it->block->bytes.data()) + it->off,
                      it->block->bytes.size() - it->off};
            offered += iov[k].iov_len;
        }
        if (k == 0) break;
        const ssize_t n = ::writev(c.fd, iov, k);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) kill_client(c);
            if (c.dead) return;
            break;
        }
        c.queued -= static_cast<std::size_t>(n);
        std::size_t left = static_cast<std::size_t>(n);
        while (left > 0) {
            Piece& f = c.queue.front();
            const std::size_t rest = f.block->bytes.size() - f.off;
            if (left < rest) { f.off += left; break; }
            left -= rest;
            release(f.block);
            c.queue.pop_front();
        }
        // Another writev only when this one took all of a full iovec array.
        if (k < IOV_MAX || static_cast<std::size_t>(n) < offered) break;
    }
    const bool want = !c.queue.empty();
    if (want != c.want_out) {
        c.want_out = want;
        epoll_event ev{};
        ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
        ev.data.fd = c.fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    }
}

void close_client(Client* c) {
    for (Piece& f : c->queue) release(f.block);
    for (auto& m : members)
        if (m == c) { m = members.back(); members.pop_back(); break; }
    ::close(c->fd);  // also removes it from the epoll set
    by_fd[static_cast<std::size_t>(c->fd)].reset();
}

void accept_all(int lfd, unsigned& next_guest) {
    for (int i = 0; i < 64; ++i) {
        const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (by_fd.size() <= static_cast<std::size_t>(fd)) by_fd.resize(static_cast<std::size_t>(fd) + 1);
        auto& c = by_fd[static_cast<std::size_t>(fd)];
        c = std::make_unique<Client>();
        c->fd = fd;
        const std::string nick = "guest-" + std::to_string(++next_guest);
        c->prefix = "<" + nick + "> ";
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        members.push_back(c.get());
        // What chatroom-loadgen's chat adapter waits for before it sends.
        auto* hello = new Block{"* welcome to floor, you are " + nick + "\r\n* joined lobby\r\n", 1};
        push(*c, hello);
        release(hello);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const char* bind_addr = "127.0.0.1";
    int port = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--bind" && i + 1 < argc) bind_addr = argv[++i];
        else if (a == "--max-queue" && i + 1 < argc) max_queue = std::strtoull(argv[++i], nullptr, 10);
        else if (port < 0 && !a.empty() && a[0] != '-') port = std::atoi(a.c_str());
        else { std::fprintf(stderr, "usage: %s PORT [--bind ADDR] [--max-queue BYTES]\n", argv[0]); return 2; }
    }
    if (port < 0 || port > 65535) { std::fprintf(stderr, "usage: %s PORT [--bind ADDR] [--max-queue BYTES]\n", argv[0]); return 2; }
    std::signal(SIGPIPE, SIG_IGN);
    const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1 ||
        ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd, 4096) != 0) {
        std::perror("chatroom-floor: listen");
        return 1;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event lev{};
    lev.events = EPOLLIN;
    lev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    unsigned next_guest = 0;
    std::vector<epoll_event> events(1024);
    for (;;) {
        const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
        for (int i = 0; i < n; ++i) {
            const epoll_event& e = events[static_cast<std::size_t>(i)];
            if (e.data.fd == lfd) { accept_all(lfd, next_guest); continue; }
            Client* c = by_fd[static_cast<std::size_t>(e.data.fd)].get();
            if (!c || c->dead) continue;
            if (e.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(*c);
            if ((e.events & EPOLLOUT) && !c->dirty) { c->dirty = true; dirty.push_back(c); }
        }
        for (Client* c : dirty) flush(*c);  // one writev per recipient per turn
        dirty.clear();
        for (Client* c : dead) close_client(c);
        dead.clear();
    }
}
