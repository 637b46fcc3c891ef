# sweep.gp - a figure against the swept value of a sweep run (throttlesim
# plot): one line per variant (and second swept value), the mean over
# replications, with its 95% confidence interval as a band.
#
# Inputs (gnuplot variables set before this script: throttlesim plot gives
# them in a file of name=value lines, gnuplot X.vars SCRIPT; or gnuplot -e):
#   datafile  whitespace columns: 1 swept value, 2 mean, 3 mean - half,
#             4 mean + half (NaN: undefined); one block per line, blocks
#             separated by two blank lines (gnuplot's index)
#   out, fmt ('png' | 'svg'), width, height, title
#   xlabel, ylabel          the swept key; the figure with its unit
#   nline, lname1..lnameN   the lines' labels, in block order

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
set ylabel ylabel
set grid xtics ytics lc rgb '#dddddd' lw 1 dt 1
set border 3
set tics nomirror
set yrange [0:*]
set offsets graph 0.02, graph 0.02, graph 0.05, 0
set key outside right top vertical Left reverse samplen 2.5 spacing 1.3 width 1
set key title 'variant' left
# Twenty colours that stay apart: sixteen variants never share one.
colours = '#1f77b4 #d62728 #2ca02c #ff7f0e #9467bd #8c564b #e377c2 #17becf #7f7f7f #bcbd22 '.\
          '#000080 #808000 #f3c300 #ff00ff #804000 #00ff80 #2b3d26 #ffb0b0 #006040 #c2b280'
colour(i) = word(colours, (i-1)%20+1)
# Bands first, so that no band hides another line.  A line with no
# defined point (never delivered everywhere) is still named in the key.
set yrange [0:*]
plot 0 with lines lc rgb '#ffffff' notitle, \
     for [i=1:nline] datafile index (i-1) using 1:3:4 with filledcurves \
        fillstyle transparent solid 0.18 noborder lc rgb colour(i) notitle, \
     for [i=1:nline] datafile index (i-1) using 1:2 with linespoints lw 2.5 pt 7 ps 0.9 \
        lc rgb colour(i) title value(sprintf('lname%d', i)), \
     NaN with filledcurves fillstyle transparent solid 0.18 noborder lc rgb '#777777' \
        title '95% confidence interval'
