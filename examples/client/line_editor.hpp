#pragma once
// The terminal side of chatroom-client: libedit's readline-compatible
// callback interface, driven by the Asio loop that also runs the connection,
// so lines arrive while the user types. Incoming lines are printed above the
// prompt and the half-typed line is drawn again below them.

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <editline/readline.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cwchar>
#include <functional>
#include <string>
#include <string_view>

namespace console {

// Where the history lives: $XDG_STATE_HOME/chatroom/history, by default
// ~/.local/state/chatroom/history. Creates the directory; empty if there is
// no home to put it in.
inline std::string history_file() {
    std::string dir;
    if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state == '/') {
        dir = state;
    } else if (const char* home = std::getenv("HOME"); home && *home) {
        dir = std::string(home) + "/.local/state";
    } else {
        return {};
    }
    dir += "/chatroom";
    // mkdir -p, private: what one typed is nobody else's business.
    for (std::size_t at = 1; at != std::string::npos;) {
        at = dir.find('/', at + 1);
        const std::string part = dir.substr(0, at);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return {};
    }
    return dir + "/history";
}

// Columns a UTF-8 string takes on the terminal (wide characters count two).
inline std::size_t display_width(std::string_view s) {
    std::mbstate_t state{};
    std::size_t width = 0;
    const char* p = s.data();
    const char* const end = p + s.size();
    while (p < end) {
        wchar_t wc = 0;
        const std::size_t n = std::mbrtowc(&wc, p, static_cast<std::size_t>(end - p), &state);
        if (n == static_cast<std::size_t>(-1) || n == static_cast<std::size_t>(-2)) {
            state = std::mbstate_t{};
            ++p;
            ++width;
            continue;
        }
        p += n == 0 ? 1 : n;
        const int w = ::wcwidth(wc);
        width += w > 0 ? static_cast<std::size_t>(w) : 0;
    }
    return width;
}

// One per process: readline's callback interface has a single global state.
class line_editor {
public:
    using line_handler = std::function<void(std::string line)>;
    using end_handler = std::function<void()>;

    line_editor(asio::io_context& io, std::string prompt, line_handler on_line, end_handler on_end)
        : input_(io), prompt_(std::move(prompt)), on_line_(std::move(on_line)), on_end_(std::move(on_end)) {}

    line_editor(const line_editor&) = delete;
    line_editor& operator=(const line_editor&) = delete;

    ~line_editor() { stop(); }

    void start() {
        if (active_) return;
        current_ = this;
        // The program's own signal_set handles signals; libedit must not
        // install handlers of its own that would race with it.
        rl_catch_signals = 0;
        rl_catch_sigwinch = 0;
        rl_readline_name = "chatroom";
        using_history();
        stifle_history(1000);
        history_path_ = history_file();
        if (!history_path_.empty()) read_history(history_path_.c_str());
        install();
        active_ = true;
        // Only waited on, never read by Asio: the descriptor stays blocking,
        // as libedit (and the shell afterwards) expect it.
        input_.assign(::dup(STDIN_FILENO));
        wait();
    }

    // Gives the terminal back as it was. Safe to call more than once.
    // The prompt and any half-typed text are wiped, so that what the program
    // prints last starts on a clean line.
    void stop() {
        if (!active_) return;
        erase_input();
        std::fflush(stdout);
        active_ = false;
        std::error_code ignored;
        input_.close(ignored);
        rl_callback_handler_remove();
        if (current_ == this) current_ = nullptr;
    }

    bool active() const noexcept { return active_; }

    // Shows a line above the prompt; the half-typed text stays as it was.
    void print(std::string_view text) {
        if (!active_) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fputc('\n', stdout);
            std::fflush(stdout);
            return;
        }
        erase_input();
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fputs("\r\n", stdout);
        std::fflush(stdout);
        rl_forced_update_display();
    }

    // Ctrl-C: the line being typed goes, the prompt stays.
    void clear_line() {
        if (!active_) return;
        erase_input();
        // libedit ignores rl_replace_line("") and rl_delete_text; what
        // empties its line is starting it afresh, which draws the prompt.
        rl_callback_handler_remove();
        install();
    }

    // The terminal changed size.
    void resize() {
        if (active_) rl_resize_terminal();
    }

    // Ctrl-Z: the terminal is given back while the program is stopped and
    // taken again when it continues.
    void suspend() {
        if (!active_) return;
        const std::string typed = rl_line_buffer ? std::string(rl_line_buffer, static_cast<std::size_t>(rl_end)) : "";
        erase_input();
        std::fflush(stdout);
        rl_callback_handler_remove();
        ::kill(::getpid(), SIGSTOP);
        install();
        if (!typed.empty()) {
            // Inserted (the cursor goes after it) over the prompt just drawn.
            rl_insert_text(typed.c_str());
            std::fputs("\r\x1b[J", stdout);
            rl_forced_update_display();
        }
    }

private:
    void install() { rl_callback_handler_install(prompt_.c_str(), &line_editor::accept); }

    void wait() {
        input_.async_wait(asio::posix::stream_descriptor::wait_read, [this](std::error_code ec) {
            if (ec || !active_) return;
            rl_callback_read_char(); // may call accept, and through it stop()
            if (active_) wait();
        });
    }

    // Moves to where the prompt starts and clears from there down, the one
    // edit libedit has no call for. The prompt and the text before the
    // cursor may wrap over several rows.
    void erase_input() {
        int rows = 0, cols = 0;
        rl_get_screen_size(&rows, &cols);
        std::size_t up = 0;
        if (cols > 0 && rl_line_buffer) {
            const std::size_t before =
                display_width(prompt_) +
                display_width(std::string_view(rl_line_buffer, static_cast<std::size_t>(rl_point)));
            up = before / static_cast<std::size_t>(cols);
        }
        if (up > 0) std::fprintf(stdout, "\x1b[%zuA", up);
        std::fputs("\r\x1b[J", stdout);
    }

    static void accept(char* raw) {
        line_editor* self = current_;
        if (!self) {
            std::free(raw);
            return;
        }
        if (!raw) { // Ctrl-D on an empty line
            std::fputs("\r\n", stdout);
            std::fflush(stdout);
            self->stop();
            if (self->on_end_) self->on_end_();
            return;
        }
        std::string line(raw);
        std::free(raw);
        if (!line.empty() && line != self->last_added_) {
            self->last_added_ = line;
            add_history(line.c_str());
            // Written at once: a crash or a kill keeps what was typed.
            if (!self->history_path_.empty()) write_history(self->history_path_.c_str());
        }
        // libedit leaves the terminal cooked after a line in callback mode:
        // installing again takes it back for the next one.
        self->install();
        if (self->on_line_) self->on_line_(std::move(line));
    }

    asio::posix::stream_descriptor input_;
    std::string prompt_;
    std::string history_path_;
    std::string last_added_; // a line repeated at once is kept once
    line_handler on_line_;
    end_handler on_end_;
    bool active_ = false;
    static inline line_editor* current_ = nullptr;
};

} // namespace console
