# timeseries.gp - one variant over time, the mean over its replications
# (throttlesim plot).
#
# Inputs (gnuplot variables set before this script: throttlesim plot gives
# them in a file of name=value lines, gnuplot X.vars SCRIPT; or gnuplot -e):
#   datafile  whitespace columns: 1 clock time (s, the scenario's local time
#             as gnuplot time), 2 minutes since start, 3 accepted, 4 released,
#             5 lost per minute, 6 outbox backlog (messages), 7 open sessions,
#             8 mailboxes error-throttled, 9.. refused per minute, one column
#             per reply class
#   out, fmt ('png' | 'svg'), width, height, title
#   xmin, xmax, xlabel        the window drawn (gnuplot time) and the axis label
#   lost_stored               0: the store predates lost per step (no line)
#   nclass, cname1..cnameN    the refusal columns' labels
#   limit, limitlabel         concurrency limit of all mailboxes (0: none drawn)
#   ratelimit, ratelabel      message-rate limit, messages per minute (0: none)
#   nperiods, periods         error-throttle periods, "from to from to ..."
# Optional (plot --entity: the chart of one sender group or mailbox):
#   backlog_defined           0: no backlog to draw (column 6 is NaN)
#   backlogtitle, sessionstitle, throttletitle   the legends of panels 3, 4
#                             and of the shading

if (!exists("fmt")) fmt = 'png'
if (!exists("width")) width = 1000
if (!exists("height")) height = 600
if (!exists("backlog_defined")) backlog_defined = 1
if (!exists("backlogtitle")) backlogtitle = 'generated, not yet accepted or lost'
if (!exists("sessionstitle")) sessionstitle = 'open sessions (all mailboxes)'
if (!exists("throttletitle")) throttletitle = 'error-throttle period'
if (fmt eq 'svg') {
    set terminal svg size width,height fixed noenhanced font 'Sans,11' background rgb 'white'
} else {
    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
        set terminal pngcairo size width,height noenhanced font 'Sans,9' background rgb 'white'
    } else {
        set terminal png size width,height noenhanced font 'Sans' 9 background rgb 'white'
    }
}
set output out
set encoding utf8

throttle_colour = '#f0b000'
do for [i=1:nperiods] {
    set object i rectangle from first word(periods, 2*i-1)+0, graph 0 \
        to first word(periods, 2*i)+0, graph 1 behind fillcolor rgb throttle_colour \
        fillstyle transparent solid 0.22 noborder
}

# Panel tops, before the x axis becomes time (stats refuses time data).
stats datafile using 3 nooutput
top1 = STATS_max
stats datafile using 4 nooutput
top1 = (STATS_max > top1 ? STATS_max : top1)
# A limit far above what happened (over ten times: 30/min x 40 mailboxes over a few
# messages a minute) would flatten the data to the axis: it is then named
# in the legend, not drawn.
rate_off = (ratelimit > 0 && top1 > 0 && ratelimit > 10 * top1)
top1 = (ratelimit > top1 && !rate_off ? ratelimit : top1)
bmax = 0
if (backlog_defined) {
    stats datafile using 6 nooutput
    bmax = STATS_max
}
stats datafile using 7 nooutput
smax = STATS_max

# A legend entry of several lines would be drawn over its neighbours (the
# key gives each entry one line): its lines after the first become entries
# of their own, with no sample.
line1(s) = (strstrt(s, "\n") > 0 ? s[1:strstrt(s, "\n") - 1] : s)
rest(s) = (strstrt(s, "\n") > 0 ? s[strstrt(s, "\n") + 1:] : '')
line2(s) = line1(rest(s))
line3(s) = line1(rest(rest(s)))
ratetitle = (ratelimit > 0 ? (rate_off ? ratelabel . "\n(far above the data: not drawn)" : ratelabel) : '')
set multiplot title title font ',12'
L = 0.08; R = 0.68; KX = R + 0.015
nicestep(x) = (x <= 0 ? 1 : nicestep_(x / 4.0, 10**floor(log10(x / 4.0))))
nicestep_(r, p) = p * (r/p < 1.5 ? 1 : r/p < 3.5 ? 2 : r/p < 7.5 ? 5 : 10)
set lmargin at screen L; set rmargin at screen R
set xdata time
set timefmt '%s'
set xrange [xmin:xmax]
span = xmax - xmin
# Clock tics a reader can count: 5, 15, 30 min, 1, 2, 6 h, a day.
set xtics autofreq
if (span <= 3600) { set xtics 300 } else { if (span <= 4*3600) { set xtics 900 } else { \
    if (span <= 8*3600) { set xtics 1800 } else { if (span <= 16*3600) { set xtics 3600 } else { \
    if (span <= 36*3600) { set xtics 7200 } else { if (span <= 4*86400) { set xtics 21600 } else { \
    set xtics 86400 } } } } } }
xfmt = (span > 36*3600 ? "%a %H:%M" : "%H:%M")
set grid xtics ytics lc rgb '#dddddd' lw 1 dt 1
set key top left vertical Left reverse samplen 2 spacing 1.0 noautotitle
set border 3
set tics nomirror
set format x ''
set xlabel ''
set ytics autofreq

# ---- 1: accepted, released and lost per minute, the message-rate limit ----------------
set tmargin at screen 0.92; set bmargin at screen 0.70
set key at screen KX, screen 0.92 title 'messages per minute' left
set ylabel "messages\nper minute"
set yrange [0:(top1 > 0 ? top1 * 1.15 : 1)]
plot datafile using 1:3 with fillsteps fillstyle transparent solid 0.30 noborder lc rgb '#2ca02c' \
        title '250 accepted', \
     '' using 1:4 with steps lw 1.5 lc rgb '#1f77b4' title 'released for delivery', \
     '' using 1:(lost_stored ? column(5) : NaN) with steps lw 1.5 lc rgb '#000000' \
        title (lost_stored ? 'lost' : ''), \
     (ratelimit > 0 && !rate_off ? ratelimit : NaN) with lines dt 2 lw 2 lc rgb '#d62728' \
        title line1(ratetitle), \
     NaN with lines lc rgb 'white' title line2(ratetitle), \
     NaN with lines lc rgb 'white' title line3(ratetitle)

# ---- 2: refusals per minute by reply -------------------------------------------------
set tmargin at screen 0.67; set bmargin at screen 0.47
set key at screen KX, screen 0.67 title 'refusals per minute, by reply' left
set ylabel "refusals\nper minute"
set yrange [0:*]
refused_colours = '#d62728 #9467bd #8c564b #e377c2 #ff7f0e #17becf #7f7f7f #bcbd22 #1f77b4'
if (nclass > 0) {
    plot for [i=1:nclass] datafile using 1:(column(8+i)) with steps lw 1.5 \
            lc rgb word(refused_colours, (i-1)%9+1) title value(sprintf('cname%d', i)), \
         (nperiods > 0 ? NaN : 1/0) with boxes fillstyle transparent solid 0.22 noborder \
            lc rgb throttle_colour title (nperiods > 0 ? throttletitle : '')
} else {
    set label 1 'no refusals' at graph 0.5, graph 0.5 center tc rgb '#555555'
    set yrange [0:1]
    plot datafile using 1:(NaN) notitle
    unset label 1
}

# ---- 3: outbox backlog ---------------------------------------------------------------
set tmargin at screen 0.44; set bmargin at screen 0.30
set key at screen KX, screen 0.44 title 'outbox backlog' left
set ylabel "outbox\nbacklog"
set yrange [0:(bmax > 0 ? bmax * 1.1 : 1)]
set ytics 0, (bmax < 4 && bmax >= 1 ? 1 : nicestep(bmax))   # a mean below 1 gets tics below 1
if (backlog_defined) {
    plot datafile using 1:6 with fillsteps fillstyle transparent solid 0.25 noborder lc rgb '#1f77b4' \
            title backlogtitle, \
         '' using 1:6 with steps lw 1 lc rgb '#1f77b4' notitle
} else {
    set label 1 "no backlog: instances without a home mailbox use it\n(their messages belong to no mailbox until an attempt)" \
        at graph 0.5, graph 0.5 center tc rgb '#555555'
    plot datafile using 1:(NaN) notitle
    unset label 1
}

# ---- 4: open sessions against the limit ---------------------------------------------
conc_off = (limit > 0 && smax > 0 && limit > 10 * smax)
conctitle = (limit > 0 ? (conc_off ? limitlabel . "\n(far above the data: not drawn)" : limitlabel) : '')
top = (limit > smax && !conc_off ? limit : smax)
top = (top < 1 ? 1 : top)
set tmargin at screen 0.27; set bmargin at screen 0.11
set key at screen KX, screen 0.27 notitle
set format x xfmt timedate
set xlabel xlabel
set ylabel "open SMTP\nsessions"
set yrange [0:top * 1.2]
set ytics 0, (top <= 4 ? 1 : nicestep(top))
plot datafile using 1:7 with steps lw 1 lc rgb '#ff7f0e' title sessionstitle, \
     (limit > 0 && !conc_off ? limit : NaN) with lines dt 2 lw 2 lc rgb '#d62728' \
        title line1(conctitle), \
     NaN with lines lc rgb 'white' title line2(conctitle), \
     NaN with lines lc rgb 'white' title line3(conctitle)
unset multiplot
