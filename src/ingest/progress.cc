#include "ingest/progress.h"

namespace edl {

std::string_view IngestPhaseName(IngestPhase phase) {
  switch (phase) {
    case IngestPhase::kFetch: return "fetch";
    case IngestPhase::kUnpack: return "unpack";
    case IngestPhase::kConvert: return "convert";
    case IngestPhase::kQc: return "qc";
    case IngestPhase::kCommit: return "commit";
  }
  return "unknown";
}

}  // namespace edl
