// Validators for flag values, applied while the command line is parsed so
// that a value out of range is a usage error (exit 2) like one that does not
// parse, for every command. The ranges mirror what the libraries accept.
#ifndef MLXPACK_CLI_FLAG_CHECKS_H_
#define MLXPACK_CLI_FLAG_CHECKS_H_

#include <CLI/CLI.hpp>
#include <string>

namespace mlxpack::cli {

// A power of two in [64, 1048576] (spec/FORMAT.md: tensor alignment).
CLI::Validator alignment_check();
// A real number x with lo < x <= hi (CLI::Range includes both ends).
CLI::Validator open_closed_range(double lo, double hi);
// "BITS,GROUP" with BITS in {2,3,4,5,6,8} and GROUP in {32,64,128}.
CLI::Validator bits_group_check();
// A recipe name (mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6) or an existing file.
CLI::Validator recipe_check();

// `message` with each library option field it names ("RuntimeOptions.threads")
// replaced by the flag that sets it ("--threads"): the libraries speak of
// their options, the CLI of its flags.
std::string with_flag_names(std::string message);

}  // namespace mlxpack::cli

#endif  // MLXPACK_CLI_FLAG_CHECKS_H_
