// chatroom::redis links: the backplane's factory, with hiredis under it.
#include <chatroom.hpp>
#include <chatroom/redis.hpp>

#include <cstdio>

int main() {
    chatroom::redis_options options;
    options.instances.push_back(*chatroom::parse_redis_endpoint("127.0.0.1:6379"));
    auto make = chatroom::redis_backplane_factory(options);
    std::puts(make ? "chatroom::redis: factory made" : "chatroom::redis: no factory");
    return make ? 0 : 1;
}
