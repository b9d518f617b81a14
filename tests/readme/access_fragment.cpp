// The context of the README's access-hooks fragment: a running `server`, a
// worker pool for slow password hashing, and the host's account store.
#include <chatroom.hpp>
// README INCLUDES

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <string>
#include <string_view>

bool check_password(const std::string& name, const std::string& secret);
bool is_operator(const std::string& name);
bool has_account(std::string_view name);

void readme_block(chatroom::server& server, asio::thread_pool& workers) {
// README BLOCK
}
