#pragma once
// The rows a query returned, fully read into memory (the transaction that
// produced them may already be gone).

#include <boxoffice/storage/Value.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boxoffice::storage {

class Row {
public:
    Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values);

    std::size_t size() const noexcept { return values_.size(); }
    const Value& operator[](std::size_t column) const;   // out of range: Error(InvalidArgument)
    const Value& operator[](std::string_view name) const; // unknown name: Error(InvalidArgument)

    bool isNull(std::size_t column) const { return (*this)[column].isNull(); }
    std::int64_t int64(std::size_t column) const { return (*this)[column].asInt64(); }
    std::string text(std::size_t column) const { return (*this)[column].asText(); }
    Bytes blob(std::size_t column) const { return (*this)[column].asBlob(); }
    std::optional<std::int64_t> optInt64(std::size_t column) const;
    std::optional<std::string> optText(std::size_t column) const;
    std::optional<Bytes> optBlob(std::size_t column) const;

private:
    std::shared_ptr<const std::vector<std::string>> columns_;
    std::vector<Value> values_;
};

class Result {
public:
    Result() = default;
    Result(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Row> rows);

    const std::vector<std::string>& columns() const noexcept { return *columns_; }
    std::size_t size() const noexcept { return rows_.size(); }
    bool empty() const noexcept { return rows_.empty(); }
    const Row& operator[](std::size_t row) const; // out of range: Error(InvalidArgument)
    auto begin() const noexcept { return rows_.begin(); }
    auto end() const noexcept { return rows_.end(); }

    // The single row of a query expected to return at most one; more throws Error(Storage).
    std::optional<Row> single() const;

private:
    std::shared_ptr<const std::vector<std::string>> columns_ = std::make_shared<std::vector<std::string>>();
    std::vector<Row> rows_;
};

} // namespace boxoffice::storage
