#include "mlxpack/status.h"

namespace mlxpack {

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kCorruption: return "corruption";
    case StatusCode::kUnsupported: return "unsupported";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kIOError: return "io_error";
    case StatusCode::kAlreadyExists: return "already_exists";
  }
  return "unknown";
}

const char* format_error_name(FormatError error) {
  switch (error) {
    case FormatError::kNone: return "none";
    case FormatError::kBadMagic: return "bad_magic";
    case FormatError::kUnsupportedVersion: return "unsupported_version";
    case FormatError::kBadSuperblockSize: return "bad_superblock_size";
    case FormatError::kSuperblockChecksum: return "superblock_checksum";
    case FormatError::kUnknownRequiredFeature: return "unknown_required_feature";
    case FormatError::kSuperblockReserved: return "superblock_reserved";
    case FormatError::kBadAlignment: return "bad_alignment";
    case FormatError::kBadChecksumAlgorithm: return "bad_checksum_algorithm";
    case FormatError::kFileSizeMismatch: return "file_size_mismatch";
    case FormatError::kTrailerMismatch: return "trailer_mismatch";
    case FormatError::kIndexOutOfBounds: return "index_out_of_bounds";
    case FormatError::kIndexChecksum: return "index_checksum";
    case FormatError::kBadIndexMagic: return "bad_index_magic";
    case FormatError::kBadEntrySize: return "bad_entry_size";
    case FormatError::kTooManyEntries: return "too_many_entries";
    case FormatError::kIndexSizeMismatch: return "index_size_mismatch";
    case FormatError::kIndexReserved: return "index_reserved";
    case FormatError::kBadEntryKind: return "bad_entry_kind";
    case FormatError::kEntryReserved: return "entry_reserved";
    case FormatError::kBadName: return "bad_name";
    case FormatError::kBadPath: return "bad_path";
    case FormatError::kUnsortedOrDuplicate: return "unsorted_or_duplicate";
    case FormatError::kBadDtype: return "bad_dtype";
    case FormatError::kBadRank: return "bad_rank";
    case FormatError::kShapeSizeMismatch: return "shape_size_mismatch";
    case FormatError::kBadEncoding: return "bad_encoding";
    case FormatError::kBadOriginalSize: return "bad_original_size";
    case FormatError::kBadSourceIndex: return "bad_source_index";
    case FormatError::kSourceSizeMismatch: return "source_size_mismatch";
    case FormatError::kEntryOutOfBounds: return "entry_out_of_bounds";
    case FormatError::kMisaligned: return "misaligned";
    case FormatError::kOverlapOrHole: return "overlap_or_hole";
    case FormatError::kChecksumMismatch: return "checksum_mismatch";
    case FormatError::kNonZeroPadding: return "nonzero_padding";
    case FormatError::kBadCompressedData: return "bad_compressed_data";
    case FormatError::kBadSafetensors: return "bad_safetensors";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string out = status_code_name(code_);
  if (format_error_ != FormatError::kNone) {
    out += " (";
    out += format_error_name(format_error_);
    out += ")";
  }
  out += ": ";
  out += message_;
  return out;
}

Status Status::with_context(std::string_view prefix) const {
  if (is_ok()) return *this;
  Status s = *this;
  s.message_ = std::string(prefix) + ": " + message_;
  return s;
}

}  // namespace mlxpack
