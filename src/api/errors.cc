#include "api/errors.h"

#include <array>
#include <utility>

namespace cairn::api {
namespace {

struct Row {
  Errc code;
  ErrorInfo info;
};

constexpr std::array<Row, 21> kTable{{
    {Errc::kOk, {200, "success"}},
    {Errc::kBadRequest, {400, "参数错误"}},
    {Errc::kValidation, {400, "参数校验失败"}},
    {Errc::kUnauthorized, {401, "未授权"}},
    {Errc::kForbidden, {403, "无权限"}},
    {Errc::kNotFound, {404, "资源不存在"}},
    {Errc::kNamespaceNotFound, {404, "命名空间不存在"}},
    {Errc::kConfigNotFound, {404, "配置项不存在"}},
    {Errc::kMethodNotAllowed, {405, "请求方法不允许"}},
    {Errc::kConflict, {409, "资源冲突"}},
    {Errc::kKeyExists, {409, "配置键已存在"}},
    {Errc::kPayloadTooLarge, {413, "请求体过大"}},
    {Errc::kRateLimited, {429, "请求频率超限"}},
    {Errc::kQuotaExceeded, {429, "客户端配额超限"}},
    {Errc::kInternal, {500, "服务内部错误"}},
    {Errc::kDatabase, {500, "数据库错误"}},
    {Errc::kRaft, {500, "Raft共识失败"}},
    {Errc::kCache, {500, "缓存服务异常"}},
    {Errc::kSecretUnavailable, {500, "密钥值无法解密"}},
    {Errc::kUnavailable, {503, "服务不可用"}},
    {Errc::kNotLeader, {503, "节点非Leader"}},
}};

constexpr std::array<Errc, kTable.size()> kCodes = [] {
  std::array<Errc, kTable.size()> codes{};
  for (size_t i = 0; i < kTable.size(); ++i) codes[i] = kTable[i].code;
  return codes;
}();

}  // namespace

const ErrorInfo& error_info(Errc code) {
  for (const Row& row : kTable) {
    if (row.code == code) return row.info;
  }
  return kTable[14].info;  // 50001
}

const Errc* all_error_codes(size_t* count) {
  *count = kCodes.size();
  return kCodes.data();
}

}  // namespace cairn::api
