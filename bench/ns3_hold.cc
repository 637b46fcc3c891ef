/* ns3_hold.cc - the hold benchmark (../shared/reference/hold-model.md)
 * driven through ns-3's event-set interface, ns3::Scheduler
 * (src/core/model/scheduler.h), for three of its schedulers:
 *
 *   ns3-priority  PriorityQueueScheduler  (std::priority_queue, a binary heap)
 *   ns3-map       MapScheduler            (std::map, a red-black tree)
 *   ns3-calendar  CalendarScheduler       (Brown's calendar queue, at most
 *                                          32,768 buckets, width retuned only
 *                                          on resize)
 *
 * The schedulers are created with CreateObject and called directly; no
 * Simulator is involved, so nothing but the queue itself is timed.
 *
 * The protocol is the one of bench/hold.c, so the two print comparable
 * numbers and the same checksums:
 *   - increments: incr_fill(dist, a, 1024000, 1), drawn before timing and
 *     cycled with one cursor through pre-fill, warm-up and timed holds;
 *   - pre-fill N events: time = 0 + increment, uid = 0 .. N-1;
 *   - warm up with max(N, 100000) holds;
 *   - R timed segments of H holds each (default H = max(10 N, 1000000));
 *   - a hold is RemoveNext, then Insert at (removed time + increment) with
 *     the next uid (the insertion counter, the C bench's seq);
 *   - the popped (time, uid) stream of the timed segments is folded into an
 *     FNV-1a style checksum that runs on across segments; each segment's
 *     line shows the running value.
 * Output, one line per segment:  IMPL N DIST ns_per_hold CHECKSUM
 * except when --max-warmup-sec S is given and pre-fill plus warm-up outlast
 * it (ns-3's CalendarScheduler at N = 10^6 can take many minutes): then the
 * single line  IMPL N DIST ns_per_op_so_far warmup-cut  and no timed
 * segment (ns per insert if cut in the pre-fill, per hold in the warm-up).
 *
 * Event payload: these three schedulers store Event::impl but never
 * dereference it (nor Ref/Unref it; only the Simulator does), so it is
 * nullptr.  EventKey::m_uid is 32 bits in ns-3, so the run refuses more
 * than 2^32 - 1 insertions.  Asserts in these schedulers (NS_ASSERT) only
 * check non-emptiness and are compiled out of Debian's libns3-core anyway.
 */
#include <ns3/calendar-scheduler.h>
#include <ns3/map-scheduler.h>
#include <ns3/object.h>
#include <ns3/priority-queue-scheduler.h>
#include <ns3/ptr.h>
#include <ns3/scheduler.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "incr.h"

namespace {

constexpr size_t kIncrLen = 1024000; // a multiple of 4000 (see incr.h)
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
// Above this many seconds the default segment length is cut down (see main).
constexpr double kMaxDefaultSegmentSec = 3.0;

struct Options
{
    std::string impl;
    uint64_t n = 0;
    int dist = -1;
    int reps = 3;
    uint64_t holds = 0; // 0: default
    double max_warmup_sec = 0; // 0: no limit
};

void
Usage(const char* argv0)
{
    std::fprintf(stderr,
                 "usage: %s --impl ns3-priority|ns3-map|ns3-calendar --n N "
                 "--dist NAME [--reps R] [--holds H] [--max-warmup-sec S]\n"
                 "  NAME: exponential uniform triangular negtriangular bimodal "
                 "camel change\n"
                 "  default H = max(10 N, 1000000), cut to about %.0f s per "
                 "segment for slow schedulers (noted on stderr)\n"
                 "  --max-warmup-sec S: if pre-fill and warm-up have not finished "
                 "after S seconds, give up\n"
                 "    and print one line 'IMPL N DIST NS warmup-cut', NS being "
                 "the ns per operation so far\n",
                 argv0,
                 kMaxDefaultSegmentSec);
}

bool
ParseU64(const char* s, uint64_t* out)
{
    if (s == nullptr || *s == '\0' || *s == '-')
    {
        return false;
    }
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
    {
        return false;
    }
    *out = v;
    return true;
}

bool
ParseArgs(int argc, char** argv, Options* o)
{
    for (int i = 1; i < argc; i++)
    {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        uint64_t u = 0;
        if (std::strcmp(a, "--impl") == 0 && v != nullptr)
        {
            o->impl = v;
        }
        else if (std::strcmp(a, "--n") == 0 && ParseU64(v, &u) && u > 0)
        {
            o->n = u;
        }
        else if (std::strcmp(a, "--dist") == 0 && v != nullptr)
        {
            o->dist = incr_parse(v);
            if (o->dist < 0)
            {
                std::fprintf(stderr, "unknown distribution '%s'\n", v);
                return false;
            }
        }
        else if (std::strcmp(a, "--reps") == 0 && ParseU64(v, &u) && u > 0 && u < 1000000)
        {
            o->reps = static_cast<int>(u);
        }
        else if (std::strcmp(a, "--holds") == 0 && ParseU64(v, &u) && u > 0)
        {
            o->holds = u;
        }
        else if (std::strcmp(a, "--max-warmup-sec") == 0 && ParseU64(v, &u))
        {
            o->max_warmup_sec = static_cast<double>(u);
        }
        else
        {
            std::fprintf(stderr, "bad argument '%s'\n", a);
            return false;
        }
        i++;
    }
    if (o->impl.empty() || o->n == 0 || o->dist < 0)
    {
        std::fprintf(stderr, "--impl, --n and --dist are required\n");
        return false;
    }
    return true;
}

ns3::Ptr<ns3::Scheduler>
MakeScheduler(const std::string& impl)
{
    if (impl == "ns3-priority")
    {
        return ns3::CreateObject<ns3::PriorityQueueScheduler>();
    }
    if (impl == "ns3-map")
    {
        return ns3::CreateObject<ns3::MapScheduler>();
    }
    if (impl == "ns3-calendar")
    {
        return ns3::CreateObject<ns3::CalendarScheduler>();
    }
    return nullptr;
}

/* The queue under test plus the hold state.  Kept in one struct so the hot
 * loop sees everything through one pointer, as the C bench does. */
struct Hold
{
    ns3::Scheduler* sched;
    const int64_t* incr;
    size_t cursor;
    uint32_t next_uid;

    uint64_t
    NextIncrement()
    {
        uint64_t d = static_cast<uint64_t>(incr[cursor]);
        if (++cursor == kIncrLen)
        {
            cursor = 0;
        }
        return d;
    }

    void
    Insert(uint64_t ts)
    {
        ns3::Scheduler::Event ev;
        ev.impl = nullptr;
        ev.key.m_ts = ts;
        ev.key.m_uid = next_uid++;
        ev.key.m_context = 0;
        sched->Insert(ev);
    }

    void
    Run(uint64_t holds)
    {
        for (uint64_t i = 0; i < holds; i++)
        {
            ns3::Scheduler::Event ev = sched->RemoveNext();
            Insert(ev.key.m_ts + NextIncrement());
        }
    }

    uint64_t
    RunChecked(uint64_t holds, uint64_t h)
    {
        for (uint64_t i = 0; i < holds; i++)
        {
            ns3::Scheduler::Event ev = sched->RemoveNext();
            h ^= ev.key.m_ts;
            h *= kFnvPrime;
            h ^= static_cast<uint64_t>(ev.key.m_uid);
            h *= kFnvPrime;
            Insert(ev.key.m_ts + NextIncrement());
        }
        return h;
    }
};

double
Seconds()
{
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

} // namespace

int
main(int argc, char** argv)
{
    Options o;
    if (!ParseArgs(argc, argv, &o))
    {
        Usage(argv[0]);
        return 2;
    }
    ns3::Ptr<ns3::Scheduler> sched = MakeScheduler(o.impl);
    if (sched == nullptr)
    {
        std::fprintf(stderr, "unknown impl '%s'\n", o.impl.c_str());
        Usage(argv[0]);
        return 2;
    }

    const uint64_t warmup = o.n > 100000 ? o.n : 100000;
    const bool default_holds = o.holds == 0;
    uint64_t holds = default_holds ? (10 * o.n > 1000000 ? 10 * o.n : 1000000) : o.holds;

    std::vector<int64_t> incr(kIncrLen);
    incr_fill(o.dist, incr.data(), kIncrLen, 1);

    Hold st{ns3::PeekPointer(sched), incr.data(), 0, 0};

    // Pre-fill and warm up, timing the warm-up to size a default segment.
    const uint64_t max_inserts = UINT32_MAX;
    if (o.n + warmup > max_inserts)
    {
        std::fprintf(stderr, "N too large for ns-3's 32-bit uid\n");
        return 2;
    }
    // The limit covers pre-fill and warm-up: CalendarScheduler's pre-fill
    // alone is quadratic for some distributions (its last resize picks a
    // width from the sparse start of the pre-fill, so most events share a
    // few sorted bucket lists).  The clock is read every 1024 operations
    // only; neither phase is part of the results.
    const double tp = Seconds();
    auto over_limit = [&](const char* phase, uint64_t done, uint64_t total, double since) {
        if (o.max_warmup_sec <= 0 || done >= total || Seconds() - tp <= o.max_warmup_sec)
        {
            return false;
        }
        double ns = (Seconds() - since) * 1e9 / static_cast<double>(done ? done : 1);
        std::fprintf(stderr,
                     "# %s N=%" PRIu64 " %s: given up after %.0f s in the %s, %" PRIu64
                     " of %" PRIu64 " done, %.0f ns each so far\n",
                     o.impl.c_str(),
                     o.n,
                     incr_name(o.dist),
                     o.max_warmup_sec,
                     phase,
                     done,
                     total,
                     ns);
        std::printf("%s %" PRIu64 " %s %.2f warmup-cut\n",
                    o.impl.c_str(),
                    o.n,
                    incr_name(o.dist),
                    ns);
        return true;
    };
    for (uint64_t i = 0; i < o.n; i++)
    {
        st.Insert(st.NextIncrement());
        if ((i & 1023) == 1023 && over_limit("pre-fill", i + 1, o.n, tp))
        {
            return 0;
        }
    }
    double t0 = Seconds();
    uint64_t warm_done = 0;
    while (warm_done < warmup)
    {
        uint64_t step = warmup - warm_done < 1024 ? warmup - warm_done : 1024;
        st.Run(step);
        warm_done += step;
        if (over_limit("warm-up", warm_done, warmup, t0))
        {
            return 0;
        }
    }
    double warm_ns = (Seconds() - t0) * 1e9 / static_cast<double>(warmup);

    if (default_holds && warm_ns * static_cast<double>(holds) > kMaxDefaultSegmentSec * 1e9)
    {
        uint64_t cut = static_cast<uint64_t>(kMaxDefaultSegmentSec * 1e9 / warm_ns);
        if (cut < 1000)
        {
            cut = 1000;
        }
        std::fprintf(stderr,
                     "# %s N=%" PRIu64 " %s: %.0f ns/hold in warm-up; holds per segment cut "
                     "from %" PRIu64 " to %" PRIu64 " (~%.0f s per segment)\n",
                     o.impl.c_str(),
                     o.n,
                     incr_name(o.dist),
                     warm_ns,
                     holds,
                     cut,
                     kMaxDefaultSegmentSec);
        holds = cut;
    }
    if (o.n + warmup + static_cast<uint64_t>(o.reps) * holds > max_inserts)
    {
        std::fprintf(stderr, "too many holds for ns-3's 32-bit uid; lower --holds or --reps\n");
        return 2;
    }

    uint64_t h = kFnvBasis;
    for (int r = 0; r < o.reps; r++)
    {
        double s0 = Seconds();
        h = st.RunChecked(holds, h);
        double ns = (Seconds() - s0) * 1e9 / static_cast<double>(holds);
        std::printf("%s %" PRIu64 " %s %.2f %016" PRIx64 "\n",
                    o.impl.c_str(),
                    o.n,
                    incr_name(o.dist),
                    ns,
                    h);
        std::fflush(stdout);
    }
    return 0;
}
