#include <chatroom.hpp>

#include <string>

std::string greeting_from_b();

int main() {
    // Both units use the same inline functions and variables.
    const std::string a = chatroom::replies::welcome("a", "guest-1");
    const std::string b = greeting_from_b();
    return a.size() == b.size() && chatroom::protocol::is_valid_name("guest-1") ? 0 : 1;
}
