# cdf.gp - the delivery delay distribution of every variant on one chart
# (throttlesim plot).  A point (x, y): a fraction y of the delivered messages
# waited at most x from generation to release.
#
# Inputs (gnuplot variables set before this script: throttlesim plot gives
# them in a file of name=value lines, gnuplot X.vars SCRIPT; or gnuplot -e):
#   datafile  whitespace columns: 1 fraction (0..1), 2.. one column per
#             variant: the delay at that quantile (NaN: none), quantiles
#             averaged over the replications
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

set title title font ',13'
set xlabel xlabel
set ylabel 'fraction of delivered messages'
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
}
# The median and the 95th percentile, the two figures the tables quote.
set arrow 1 from graph 0, first 0.5 to graph 1, first 0.5 nohead dt 3 lc rgb '#999999' back
set arrow 2 from graph 0, first 0.95 to graph 1, first 0.95 nohead dt 3 lc rgb '#999999' back
set label 1 'median' at graph 0.005, first 0.5 offset 0, 0.6 tc rgb '#777777' font ',9'
set label 2 'p95' at graph 0.005, first 0.95 offset 0, 0.6 tc rgb '#777777' font ',9'
set key bottom right Left reverse box opaque samplen 3 spacing 1.2 width 1
set key title 'variant'
colours = '#1f77b4 #d62728 #2ca02c #ff7f0e #9467bd #8c564b #e377c2 #17becf #7f7f7f #bcbd22'
plot for [i=1:nvar] datafile using (column(i+1)):1 with lines lw 2.5 \
        lc rgb word(colours, (i-1)%10+1) title value(sprintf('vname%d', i))
