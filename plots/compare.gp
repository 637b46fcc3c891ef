# compare.gp - the variants of a run side by side (throttlesim plot): one
# panel per key figure, one bar per variant (the mean over replications),
# whiskers the 95% confidence interval; the sixth cell is the legend.
#
# Inputs (gnuplot variables set before this script: throttlesim plot gives
# them in a file of name=value lines, gnuplot X.vars SCRIPT; or gnuplot -e):
#   datafile  whitespace columns: 1 slot (0..nvar-1), 2 variant index, then
#             for each figure its mean, 95% half-width (NaN: undefined) and
#             1 when the figure is never reached (a delay of all mail when
#             over 5% of it was not delivered): drawn as a hatched bar to the
#             top marked 'never', one bar wide (`lc rgb variable` before `fs`:
#             after `border` it colours the border, and the columns are misread)
#   out, fmt ('png' | 'svg'), width, height, title
#   nvar, vname1..vnameN   the variants' names, in row order
#   nfig, fname1..fnameN   the panels' titles, with units (3 panels a row)

if (!exists("fmt")) fmt = 'png'
if (!exists("width")) width = 1000
if (!exists("height")) height = 600
if (fmt eq 'svg') {
    set terminal svg size width,height fixed noenhanced font 'Sans,11' background rgb 'white'
} else {
    if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
        set terminal pngcairo size width,height noenhanced font 'Sans,10' background rgb 'white'
    } else {
        set terminal png size width,height noenhanced font 'Sans' 10 background rgb 'white'
    }
}
set output out
set encoding utf8

# One colour per variant, the same in every panel and the legend: twenty
# that stay apart (more than twenty variants repeat them).
array palette[20] = [0x1f77b4, 0xd62728, 0x2ca02c, 0xff7f0e, 0x9467bd, \
                     0x8c564b, 0xe377c2, 0x17becf, 0x7f7f7f, 0xbcbd22, \
                     0x000080, 0x808000, 0x00c0c0, 0xff00ff, 0x804000, \
                     0x00ff80, 0x4040ff, 0xffb0b0, 0x006040, 0xa0a0ff]
colour(slot) = palette[int(slot) % 20 + 1]

# Layout: figures in a 3 x 2 grid over the left 80 %; the legend on the right.
cols = 3
rows = (nfig + cols - 1) / cols
GX0 = 0.06; GX1 = 0.80; GY0 = 0.04; GY1 = 0.86
cw = (GX1 - GX0) / cols; ch = (GY1 - GY0) / rows

set multiplot title title font ',13'
set style fill solid 0.85 border lc rgb '#333333'
set boxwidth 0.7
set border 3
set tics nomirror
unset xtics
set grid ytics lc rgb '#dddddd' lw 1 dt 1
set xrange [-0.6:nvar - 0.4]
set key off
set errorbars 1.5
do for [k=1:nfig] {
    r = (k - 1) / cols; c = (k - 1) % cols
    set lmargin at screen GX0 + c * cw + 0.045
    set rmargin at screen GX0 + (c + 1) * cw - 0.01
    set tmargin at screen GY1 - r * ch - 0.05
    set bmargin at screen GY1 - (r + 1) * ch + 0.03
    set title value(sprintf('fname%d', k)) font ',11' offset 0, -0.5
    # bars from 0; room above the top whisker
    M = 3*k; H = 3*k + 1; N = 3*k + 2
    set yrange [*:*]
    STATS_records = 0; STATS_max = 0; STATS_sum = 0
    stats [*:*] datafile using (column(M) + (column(H) == column(H) ? column(H) : 0)) nooutput
    defined = exists("STATS_records") ? STATS_records > 0 : 0
    vmax = (defined ? STATS_max : 0)
    ytop = (defined && vmax > 0 ? vmax * 1.08 : 1)
    STATS_sum = 0
    stats [*:*] datafile using (column(N)) nooutput
    nevers = exists("STATS_sum") ? STATS_sum : 0
    set yrange [0:ytop]
    # An empty panel says why, rather than looking broken.
    if ((!defined || vmax <= 0) && nevers == 0) {
        set label 1 (defined ? '0 in every variant' : 'undefined in every variant') \
            at graph 0.5, graph 0.5 center tc rgb '#555555'
        set ytics ('0' 0)
    } else {
        unset label 1
        set ytics autofreq
    }
    plot datafile using 1:(column(M)):(0.7):(colour($1)) with boxes lc rgb variable notitle, \
         '' using 1:(column(M)):(column(M) - column(H)):(column(M) + column(H)):(column(M)) \
            with candlesticks whiskerbars 0.5 fs empty lw 1.5 lc rgb '#000000' notitle, \
         '' using 1:(column(N) > 0 ? ytop : NaN):(0.7):(colour($1)) with boxes \
            lc rgb variable fs pattern 4 border notitle, \
         '' using 1:(column(N) > 0 ? ytop * 0.5 : NaN):('never') with labels rotate by 90 \
            tc rgb '#000000' notitle
}
unset label 1

# The legend: one swatch per variant, and what the whiskers are.
unset title
unset border
unset tics
unset grid
set lmargin at screen GX1 + 0.01; set rmargin at screen 0.995
set tmargin at screen GY1 - 0.05; set bmargin at screen GY0
set xrange [0:1]; set yrange [0:1]
set key top left Left reverse samplen 1.5 spacing (nvar > 12 ? 1.0 : 1.3) width -4 title 'variant' left
plot for [i=1:nvar] NaN with boxes lc rgb colour(i-1) title value(sprintf('vname%d', i))
unset multiplot
