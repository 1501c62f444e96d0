#pragma once
// Internal: atomic, permission-aware file writes shared by the key store, the
// trusted clock and the key files.

#include <filesystem>
#include <string>
#include <string_view>

namespace boxoffice::trust::detail {

// mode 0600 files / 0700 new directories when `secret`, else 0644 / 0755.
void writeFileAtomically(const std::filesystem::path& file, std::string_view data, bool secret);
// Appends and fsyncs; creates with 0600.
void appendLine(const std::filesystem::path& file, std::string_view line);
std::string readFile(const std::filesystem::path& file);
// Error(PermissionDenied) if group or others may read or write the file.
void requirePrivate(const std::filesystem::path& file);

} // namespace boxoffice::trust::detail
