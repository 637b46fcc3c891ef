# cdf.gp - the delivery delay distribution of every variant on one chart
# (throttlesim plot).  A point (x, y): a fraction y of ALL generated messages
# was delivered within x from generation to release.  A curve stops at its
# variant's delivered share: the mail above it was lost or never delivered
# (the censored tail, a dotted line to the right edge, its share in the key).
#
# Inputs (gnuplot variables set before this script: throttlesim plot gives
# them in a file of name=value lines, gnuplot X.vars SCRIPT; or gnuplot -e):
#   datafile  whitespace columns: 1 quantile q (0..1), then per variant two:
#             the delay at q of its delivered mail (NaN: none; averaged over
#             the replications) and q times its delivered share
#   dshare1.., dlast1.., tail1..   per variant: delivered share, its largest
#             delay (x units), the censored tail's label
#   out, fmt ('png' | 'svg'), width, height, title
#   nvar, vname1..vnameN   the variants' names, in column order
#   logx      1: x in seconds on a log scale (delays spanning > 2 decades)
#   xlabel    the x axis label, with its unit

if (!exists("fmt")) fmt = 'png'
if (!exists("width")) width = 1000
if (!exists("height")) height = 600
if (fmt eq 'svg') {
    set terminal svg size width,height fixed noenhanced font 'Sans,12' background rgb 'white'
} else {
    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
        set terminal pngcairo size width,height noenhanced font 'Sans,11' background rgb 'white'
    } else {
        set terminal png size width,height noenhanced font 'Sans' 11 background rgb 'white'
    }
}
set output out
set encoding utf8

# The title centred on the canvas, not over the plot (a legend outside
# narrows the plot, and a long title would run off the left edge): a blank
# title of as many lines keeps its room, a label at the top draws it.
nl = 1
do for [k=1:strlen(title)] { if (title[k:k] eq "\n") { nl = nl + 1 } }
blank = ' '
do for [k=2:nl] { blank = blank . "\n " }
set title blank font ',13'
set label 1001 title at screen 0.5, screen 1 - 0.045 center font ',13' front
set xlabel xlabel
set bmargin 4   # the label's descenders clear of the bottom edge
set ylabel 'share of all messages delivered'
set yrange [0:1.02]
set ytics 0, 0.1, 1
set format y '%.1f'
set grid xtics ytics lc rgb '#dddddd' lw 1 dt 1
set border 3
set tics nomirror
if (logx) {
    set logscale x 10
    # People read durations, not powers of ten.
    set xtics ("10 ms" 0.01, "0.1 s" 0.1, "1 s" 1, "10 s" 10, "1 min" 60, "10 min" 600, \
               "1 h" 3600, "6 h" 21600, "1 d" 86400, "1 w" 604800)
    set mxtics 10
} else {
    # A delay axis from 0, with room on the right for the censored tails
    # (delays that are all alike, fixed times, would otherwise get an axis
    # of a hundredth of a second around them).
    set xrange [0:*]
    set offsets 0, graph 0.08, 0, 0
}
# The median and the 95th percentile, the two figures the tables quote.
set arrow 1 from graph 0, first 0.5 to graph 1, first 0.5 nohead dt 3 lc rgb '#999999' back
set arrow 2 from graph 0, first 0.95 to graph 1, first 0.95 nohead dt 3 lc rgb '#999999' back
set label 1 'median' at graph 0.005, first 0.5 offset 0, 0.6 tc rgb '#777777' font ',9'
set label 2 'p95' at graph 0.005, first 0.95 offset 0, 0.6 tc rgb '#777777' font ',9'
# Up to six curves the key fits in the lower right corner, where the
# curves have risen; more would hide them, and so would it hide the
# censored tail of a variant that delivered less than a third of its mail:
# then it goes outside, right.
lowtail = 0
do for [i=1:nvar] { if (value(sprintf('dshare%d', i)) < 0.33) { lowtail = 1 } }
if (nvar > 6 || lowtail) {
    set key outside right top Left reverse box opaque samplen 2 spacing 1.0 width -8
} else {
    set key bottom right Left reverse box opaque samplen 3 spacing 1.1 width 1
}
set key title 'variant'
# Twenty colours that stay apart: sixteen variants never share one.
colours = '#1f77b4 #d62728 #2ca02c #ff7f0e #9467bd #8c564b #e377c2 #17becf #7f7f7f #bcbd22 '.\
          '#000080 #808000 #f3c300 #ff00ff #804000 #00ff80 #2b3d26 #ffb0b0 #006040 #c2b280'
do for [i=1:nvar] {
    d = value(sprintf('dshare%d', i)); x = value(sprintf('dlast%d', i))
    if (d < 0.9995 && x == x) {
        set arrow 10+i from first x, first d to graph 1, first d nohead dt 3 lw 2 \
            lc rgb word(colours, (i-1)%20+1) front
    }
}
keyfont = (nvar > 6 || lowtail ? ',9' : ',10')
set key font keyfont
plot for [i=1:nvar] datafile using (column(2*i)):(column(2*i+1)) with lines lw 2.5 \
        lc rgb word(colours, (i-1)%20+1) \
        title value(sprintf('vname%d', i)).' ('.value(sprintf('tail%d', i)).')'
