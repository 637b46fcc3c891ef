# timeseries.gp - one replication of one variant over time (throttlesim plot).
#
# Inputs (gnuplot variables set before this script: throttlesim plot gives
# them in a file of name=value lines, gnuplot X.vars SCRIPT; or gnuplot -e):
#   datafile  whitespace columns: 1 time since start (h), 2 accepted per minute,
#             3 outbox backlog (messages), 4 open sessions, 5 mailboxes
#             error-throttled, 6.. refused per minute, one column per reply class
#   out, fmt ('png' | 'svg'), width, height, title
#   xmax      end of the run (h)
#   nclass, cname1..cnameN   the refusal columns' labels
#   limit, limitlabel        concurrency limit of all mailboxes (0: none drawn)
#   nperiods, periods        error-throttle periods, "from to from to ..." (h)

if (!exists("fmt")) fmt = 'png'
if (!exists("width")) width = 1000
if (!exists("height")) height = 600
if (fmt eq 'svg') {
    set terminal svg size width,height fixed noenhanced font 'Sans,12' background rgb 'white'
} else {
    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
        set terminal pngcairo size width,height noenhanced font 'Sans,10' background rgb 'white'
    } else {
        set terminal png size width,height noenhanced font 'Sans' 10 background rgb 'white'
    }
}
set output out
set encoding utf8

throttle_colour = '#f0b000'
set style fill transparent solid 0.22 noborder
do for [i=1:nperiods] {
    set object i rectangle from first word(periods, 2*i-1)+0, graph 0 \
        to first word(periods, 2*i)+0, graph 1 behind fillcolor rgb throttle_colour \
        fillstyle transparent solid 0.22 noborder
}

set multiplot title title font ',13'
L = 0.075; R = 0.72; KX = R + 0.015
# A tic step giving about four tics up to x.
nicestep(x) = (x <= 0 ? 1 : nicestep_(x / 4.0, 10**floor(log10(x / 4.0))))
nicestep_(r, p) = p * (r/p < 1.5 ? 1 : r/p < 3.5 ? 2 : r/p < 7.5 ? 5 : 10)
set lmargin at screen L; set rmargin at screen R
set xrange [0:xmax]
# Tics on whole hours a reader can count: 15 min, 1 h, 2 h, a day.
set xtics autofreq
if (xmax <= 1.5) { set xtics 0.25 } else { if (xmax <= 12) { set xtics 1 } else { \
    if (xmax <= 48) { set xtics 2 } else { if (xmax <= 24*8) { set xtics 24 } } } }
set mxtics 2
set grid xtics ytics lc rgb '#dddddd' lw 1 dt 1
set key top left vertical Left reverse samplen 2 spacing 1.1 noautotitle
set border 3
set tics nomirror
set format x ''
set xlabel ''

# ---- top: messages per minute --------------------------------------------------------
set tmargin at screen 0.91; set bmargin at screen 0.55
set key at screen KX, screen 0.91 title 'replies per minute' left
set ylabel 'messages per minute'
set yrange [0:*]
refused_colours = '#d62728 #9467bd #8c564b #e377c2 #ff7f0e #17becf #7f7f7f #bcbd22 #1f77b4'
plot datafile using 1:2 with fillsteps fillstyle transparent solid 0.30 noborder lc rgb '#2ca02c' \
        title '250 accepted', \
     '' using 1:2 with steps lw 1 lc rgb '#1e7b1e' notitle, \
     for [i=1:nclass] '' using 1:(column(5+i)) with steps lw 1.5 \
        lc rgb word(refused_colours, (i-1)%9+1) title value(sprintf('cname%d', i)), \
     (nperiods > 0 ? NaN : 1/0) with boxes fillstyle transparent solid 0.22 noborder \
        lc rgb throttle_colour title (nperiods > 0 ? 'error-throttle period' : '')

# ---- middle: outbox backlog --------------------------------------------------------------
set tmargin at screen 0.52; set bmargin at screen 0.34
set key at screen KX, screen 0.52 notitle
set ylabel "outbox backlog\n(messages)"
stats [*:*] datafile using 3 nooutput
set yrange [0:*]
set ytics 0, (STATS_max < 4 ? 1 : nicestep(STATS_max))
plot datafile using 1:3 with fillsteps fillstyle transparent solid 0.25 noborder lc rgb '#1f77b4' \
        title 'outbox backlog: generated,'."\n".'not yet accepted or lost', \
     '' using 1:3 with steps lw 1 lc rgb '#1f77b4' notitle

# ---- bottom: open sessions against the limit -----------------------------------------------
stats [*:*] datafile using 4 nooutput
smax = STATS_max
top = (limit > smax ? limit : smax)
top = (top < 1 ? 1 : top)
set tmargin at screen 0.31; set bmargin at screen 0.10
set key at screen KX, screen 0.31
set format x '%g'
set xlabel 'time since start (h)'
set ylabel "open SMTP\nsessions"
set yrange [0:top * 1.2]
set ytics 0, (top <= 4 ? 1 : nicestep(top))
plot datafile using 1:4 with steps lw 1 lc rgb '#ff7f0e' title 'open sessions (all mailboxes)', \
     (limit > 0 ? limit : 1/0) with lines dt 2 lw 2 lc rgb '#d62728' \
        title (limit > 0 ? limitlabel : '')
unset multiplot
