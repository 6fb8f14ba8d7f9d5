// Rules on entry names (spec/FORMAT.md §6.4): every name is 1 to 4096 bytes
// of valid UTF-8 without NUL; the names of file and source entries are also
// safe relative paths, so that extracting them can never write outside the
// destination directory.
#ifndef MLXPACK_FORMAT_NAMES_H_
#define MLXPACK_FORMAT_NAMES_H_

#include <string>
#include <string_view>

namespace mlxpack {

// Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past U+10FFFF.
bool is_valid_utf8(std::string_view s);

// Empty when `name` is an acceptable entry name; otherwise the reason.
std::string check_entry_name(std::string_view name);

// Empty when `path` is a safe relative path: no leading '/', no '\\', no NUL,
// no empty, "." or ".." component, no trailing '/'; otherwise the reason.
std::string check_relative_path(std::string_view path);

// `text` as it may be written to a terminal: control characters (C0, DEL,
// C1) and bytes that are not valid UTF-8 become \xNN, so a name read from a file cannot move the cursor, clear the screen or
// fake a line of output. Valid printable UTF-8 is unchanged.
std::string printable(std::string_view text);

}  // namespace mlxpack

#endif  // MLXPACK_FORMAT_NAMES_H_
