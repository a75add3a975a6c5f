# docs/experiments/iotlb-wall.md: gnuplot iotlb-wall.gp (in docs/experiments/img;
# -e "fmt='svg'" for SVG). Data: iotlb-wall.dat, one block per trace and walker
# count: time_scale, offered Gb/s, achieved Gb/s, %, IOTLB miss rate, walker
# occupancy, wait fraction.
if (!exists("fmt")) fmt = 'png'
if (fmt eq 'svg') set terminal svg size 1100,420; else set terminal pngcairo size 1100,420
set output 'iotlb-wall.' . fmt
set multiplot layout 1,2
set grid
set key top left font ",9"
set xlabel 'offered line rate (Gb/s)'
set ylabel 'achieved (Gb/s)'
set xrange [0:700]
set yrange [0:700]
names = "4K-pool,2-walkers 4K-pool,4-walkers 2M-pool,2-walkers 2M-pool,4-walkers per-packet-map,2-walkers per-packet-map,4-walkers"
set arrow from 200,0 to 200,700 nohead dashtype 2
plot for [i=0:5] 'iotlb-wall.dat' index i using 2:3 with linespoints title word(names, i+1), x with lines dashtype 3 title 'line rate'
unset arrow
set ylabel 'walker occupancy'
set yrange [0:1.05]
set key bottom right
plot for [i=0:5] 'iotlb-wall.dat' index i using 2:6 with linespoints title word(names, i+1)
unset multiplot
