#include <boxoffice/storage/Result.h>

#include <boxoffice/base/Error.h>

#include <algorithm>

namespace boxoffice::storage {

Row::Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values)
    : columns_(std::move(columns)), values_(std::move(values)) {}

const Value& Row::operator[](std::size_t column) const {
    if (column >= values_.size())
        throw Error(ErrorCode::InvalidArgument, "column " + std::to_string(column) + " out of range (row has " +
                                                    std::to_string(values_.size()) + " columns)");
    return values_[column];
}

const Value& Row::operator[](std::string_view name) const {
    auto it = std::find(columns_->begin(), columns_->end(), name);
    if (it == columns_->end()) throw Error(ErrorCode::InvalidArgument, "no column named '" + std::string(name) + "'");
    return values_[static_cast<std::size_t>(it - columns_->begin())];
}

std::optional<std::int64_t> Row::optInt64(std::size_t column) const {
    const Value& v = (*this)[column];
    return v.isNull() ? std::nullopt : std::optional(v.asInt64());
}

std::optional<std::string> Row::optText(std::size_t column) const {
    const Value& v = (*this)[column];
    return v.isNull() ? std::nullopt : std::optional(v.asText());
}

std::optional<Bytes> Row::optBlob(std::size_t column) const {
    const Value& v = (*this)[column];
    return v.isNull() ? std::nullopt : std::optional(v.asBlob());
}

Result::Result(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Row> rows)
    : columns_(std::move(columns)), rows_(std::move(rows)) {}

const Row& Result::operator[](std::size_t row) const {
    if (row >= rows_.size())
        throw Error(ErrorCode::InvalidArgument,
                    "row " + std::to_string(row) + " out of range (result has " + std::to_string(rows_.size()) + ")");
    return rows_[row];
}

std::optional<Row> Result::single() const {
    if (rows_.size() > 1)
        throw Error(ErrorCode::Storage, "expected at most one row, the query returned " + std::to_string(rows_.size()));
    if (rows_.empty()) return std::nullopt;
    return rows_.front();
}

} // namespace boxoffice::storage
